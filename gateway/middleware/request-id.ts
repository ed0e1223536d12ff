import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { nodeBindings } from '../node-bindings';

declare module 'hono' {
  interface ContextVariableMap {
    requestId: string;
  }
}

/** An incoming id is kept when it is this safe (the rule of Hono's own requestId). */
const CALLER_ID = /^[\w\-=]{1,255}$/;

/**
 * Every request gets an id — the caller's `X-Request-Id` when it is safe,
 * a UUID otherwise — in `c.var.requestId` and on the response. On node the
 * header goes straight onto node's response: set through Hono it would make
 * every answer build a web `Headers` object and convert it back (a tenth of
 * a small request's CPU).
 */
export function requestIds(): MiddlewareHandler {
  return async function requestIds(c, next) {
    const given = c.req.header('x-request-id');
    const id = given !== undefined && CALLER_ID.test(given) ? given : randomUUID();
    c.set('requestId', id);
    const outgoing = nodeBindings(c)?.outgoing;
    if (outgoing) outgoing.setHeader('x-request-id', id);
    else c.header('x-request-id', id);
    await next();
  };
}
