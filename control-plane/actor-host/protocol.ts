import { BadRequestError, errorFromWire, TollgateError, type WireError } from '../../actors/errors';

/** Version of the command envelope; bumped when its shape changes. */
export const PROTOCOL_VERSION = 1;

export type Reply = { ok: true; result: unknown } | { ok: false; error: WireError };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a JSON payload; malformed bytes are a BadRequestError, never a crash. */
export function decodeJson(data: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    throw new BadRequestError('message is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`message is not JSON: ${(err as Error).message}`);
  }
}

export function okReply(result: unknown): Uint8Array {
  return encodeJson({ ok: true, result: result ?? null } satisfies Reply);
}

export function errorReply(err: unknown): Uint8Array {
  const wire: WireError =
    err instanceof TollgateError
      ? err.toWire()
      : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), retryable: false };
  return encodeJson({ ok: false, error: wire } satisfies Reply);
}

/** Unwraps a reply: the result, or the sender's error rebuilt into its class. */
export function readReply(data: Uint8Array): unknown {
  const reply = decodeJson(data) as Reply;
  if (reply && typeof reply === 'object' && 'ok' in reply) {
    if (reply.ok) return reply.result;
    throw errorFromWire(reply.error);
  }
  throw new BadRequestError('malformed reply');
}

/** Subject tokens: ids travel inside subjects, so they must be single tokens. */
export function assertIdToken(id: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_:-]{0,127}$/.test(id)) throw new BadRequestError(`"${id}" cannot address an actor`);
}
