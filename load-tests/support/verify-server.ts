import { createPublicKey, verify } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/**
 * The floor of the gateway benchmark: Hono's hello world that also verifies
 * the bearer token's Ed25519 signature with node:crypto (the key imported
 * once) and does nothing else — no claims, no replay cache, no snapshot. What
 * it reaches is what HTTP plus one verify cost together in one process.
 */
const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: process.env.PUBLIC_KEY_X! }, format: 'jwk' });
const app = new Hono().get('/ready', (c) => c.text('ready')).get('/', (c) => {
  const token = c.req.header('authorization')?.slice('Bearer '.length) ?? '';
  const dot = token.lastIndexOf('.');
  const ok = dot > 0 && verify(null, Buffer.from(token.slice(0, dot)), key, Buffer.from(token.slice(dot + 1), 'base64url'));
  return ok ? c.text('verified') : c.text('bad signature', 401);
});
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => console.log('listening'));
