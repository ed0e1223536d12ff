import type { Context, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { BadRequestError, PayloadTooLargeError } from '../../actors/errors';
import { parseStrictJson, StrictJsonError } from './strict-json';

declare module 'hono' {
  interface ContextVariableMap {
    /** The request body as received, read once by wireBodyLimit. */
    rawBody: Uint8Array;
  }
}

/**
 * Reads the body off the wire, counting the bytes that actually arrive
 * (chunked bodies, and bodies whose Content-Length lies): past `maxBytes`
 * the read stops and the request is refused with 413 before any handler.
 * Content-Length together with Transfer-Encoding is refused outright.
 */
export function wireBodyLimit(maxBytes: number): MiddlewareHandler {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new TypeError('wireBodyLimit needs a positive byte count');
  return async function wireBodyLimit(c, next) {
    const te = c.req.header('transfer-encoding');
    const cl = c.req.header('content-length');
    if (te !== undefined && cl !== undefined) throw new BadRequestError('Content-Length together with Transfer-Encoding is refused');
    if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) throw new BadRequestError('Content-Length must be a whole number');
      if (Number(cl) > maxBytes) throw tooLarge(c, maxBytes);
    }
    // See bodiless(): no body announced, none read (and no full Request built for it).
    const stream = c.req.method === 'GET' || c.req.method === 'HEAD' ? (te === undefined && cl === undefined ? null : c.req.raw.body) : c.req.raw.body;
    if (!stream) {
      c.set('rawBody', new Uint8Array(0));
      return next();
    }
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        void reader.cancel().catch(() => undefined);
        throw tooLarge(c, maxBytes);
      }
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    c.set('rawBody', body);
    await next();
  };
}

function tooLarge(c: Context, maxBytes: number): PayloadTooLargeError {
  // The rest of the body is never read: the connection cannot be reused.
  c.header('connection', 'close');
  return new PayloadTooLargeError(`the body is larger than ${maxBytes} bytes`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses the body read by wireBodyLimit as strict JSON (no duplicate or
 * prototype keys) and validates it with a strict zod schema; every refusal
 * is a 400 whose message and `details.field` name the field.
 */
export function readStrictJson<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new BadRequestError('the body must be JSON (Content-Type: application/json)', { details: { field: 'body' } });
  let text: string;
  try {
    text = utf8.decode(c.var.rawBody);
  } catch {
    throw new StrictJsonError('the body is not valid UTF-8', 'body');
  }
  const raw = parseStrictJson(text);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const field = base ? `${base}.${issue.keys[0]}` : issue.keys[0]!;
      throw new StrictJsonError(`${field}: unknown field`, field);
    }
    const field = base || 'body';
    throw new StrictJsonError(`${field}: ${issue.message}`, field);
  }
  return parsed.data;
}
