import type { RateDecision } from './rate-limiter';

/** The answer to one partner request: replayed, or the rate decision. */
export interface AdmissionDecision extends RateDecision {
  /** The token id was claimed before: refused, and it used no rate slot. */
  replayed: boolean;
}

/**
 * The oracle's request-path admission: claim the token id once (as
 * ReplayCache) and then take a slot of the partner's sliding window (as
 * RateLimiter) — over Redis in one atomic round trip. A token refused for
 * its rate stays claimed (a retry needs a new token). Throws
 * ReplayCacheUnavailableError when it cannot answer (callers fail closed).
 */
export interface Admission {
  admit(claim: { key: string; expiresAt: Date }, rate: { key: string; limit: number; windowMs: number }, now: Date): Promise<AdmissionDecision>;
}
