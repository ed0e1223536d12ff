/** The answer of a rate limiter to one request. */
export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until a slot frees up, in ms. */
  retryAfterMs: number;
}

/**
 * A sliding-window limiter: at most `limit` requests per key in any window of
 * `windowMs` ending now. Shared by every node using the same backend. Throws
 * RateLimiterUnavailableError when it cannot answer (callers fail closed).
 */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number, now: Date): Promise<RateDecision>;
}
