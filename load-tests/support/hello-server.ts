import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/** The baseline of the gateway benchmark: Hono's hello world on @hono/node-server. */
const app = new Hono().get('/', (c) => c.text('Hello Hono!'));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => console.log('listening'));
