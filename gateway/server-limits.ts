import type { ServerOptions } from 'node:http';

/** Slow clients: the whole header block must arrive within this. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** Slow clients: the whole request (headers and body) must arrive within this. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const MAX_HEADER_BYTES = 16 * 1024;

export interface ServerLimits {
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * node:http options that cut slow clients off (slowloris): a deadline for
 * the headers and one for the whole request, checked often enough to
 * matter (Node checks every 30 s by default), and a header size cap. The
 * node's parser also refuses Content-Length together with Transfer-Encoding.
 */
export function httpServerOptions(limits: ServerLimits = {}): ServerOptions {
  const headersTimeout = limits.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeout = limits.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!(headersTimeout > 0 && requestTimeout >= headersTimeout)) throw new TypeError('need 0 < headersTimeout ≤ requestTimeout');
  return {
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 4))),
    maxHeaderSize: MAX_HEADER_BYTES,
    requireHostHeader: true,
  };
}
