import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/** Node's request and response when @hono/node-server serves the request; undefined in-process (`app.request()`). */
export function nodeBindings(c: Context): HttpBindings | undefined {
  const env = c.env as Partial<HttpBindings> | undefined;
  return typeof env?.incoming?.on === 'function' && typeof env.outgoing?.setHeader === 'function' ? (env as HttpBindings) : undefined;
}
