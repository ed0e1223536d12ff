import type { Context } from 'hono';
import type { Logger } from 'pino';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { FLAG_REFUSALS, PARTNER_REFUSALS, RateLimitedError, TollgateError } from '../actors/errors';
import { pgErrorCode } from '../control-plane/db-errors';

const STATUS: Record<string, ContentfulStatusCode> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ILLEGAL_TRANSITION: 409,
  REVISION_CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  LOCKED: 409,
  NOTHING_TO_ROLL_BACK: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  NO_RESPONDERS: 503,
  TIMEOUT: 503,
  DEAD_LETTERED: 500,
  FENCED: 409,
  RETRAIN_RATE_LIMIT: 409,
  RETRAIN_COOLDOWN: 409,
  RETRAIN_CIRCUIT_OPEN: 409,
  BLOCK_RETRAINING: 409,
  GOVERNANCE_UNLOCK_REQUIRED: 403,
  GOVERNANCE_UNLOCK_INVALID: 403,
  NOT_A_COMMITTEE_MEMBER: 403,
  SHARE_SIGNATURE_INVALID: 403,
  SHARE_COMMITMENT_MISMATCH: 403,
  UNLOCK_EXPIRED: 409,
  UNLOCK_NOT_OPEN: 409,
  SHARE_ALREADY_RECEIVED: 409,
  NO_COMMITTEE: 409,
  ORACLE_NOT_EXPOSED: 403,
  REPLAY_CACHE_UNAVAILABLE: 503,
  RATE_LIMITER_UNAVAILABLE: 503,
};
// Every partner-token refusal is a 401.
for (const code of PARTNER_REFUSALS) STATUS[code] = 401;
// Every flag refusal (a gate, the checklist, a dependency, a second kill) is a 409.
for (const code of FLAG_REFUSALS) STATUS[code] = 409;

export function statusOf(code: string): ContentfulStatusCode {
  return STATUS[code] ?? 500;
}

/** The one place where failures become HTTP responses; `log` gives the request's logger for the ones worth logging. */
export function errorResponse(err: Error, c: Context, log?: () => Logger): Response {
  if (err instanceof TollgateError) {
    if (err instanceof RateLimitedError && err.details?.retryAfterSeconds !== undefined) c.header('retry-after', String(err.details.retryAfterSeconds));
    return c.json({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } }, statusOf(err.code));
  }
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? 'PAYLOAD_TOO_LARGE' : err.status === 401 ? 'UNAUTHENTICATED' : 'BAD_REQUEST';
    return c.json({ error: { code, message: err.message || 'bad request' } }, err.status as ContentfulStatusCode);
  }
  const sqlState = pgErrorCode(err);
  if (sqlState?.startsWith('08') || sqlState === '57P01' || /ECONNREFUSED|ECONNRESET|connection/i.test(err.message)) {
    log?.().error({ err }, 'dependency unavailable');
    return c.json({ error: { code: 'UNAVAILABLE', message: 'a dependency is unavailable; retry shortly' } }, 503);
  }
  log?.().error({ err }, 'unhandled error');
  return c.json({ error: { code: 'INTERNAL', message: 'internal error; see the server log' } }, 500);
}
