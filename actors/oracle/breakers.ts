/**
 * The oracle exposure's automatic circuit breakers, as a pure function over
 * per-minute traffic figures (the host measures, this decides).
 */
export interface MinuteStats {
  /** Minute number (ms since the epoch / 60 000). */
  minute: number;
  requests: number;
  /** 401s and 403s other than "not exposed at this stage". */
  authRefusals: number;
  /** p95 latency of the minute, ms; null without traffic. */
  p95Ms: number | null;
}

export const BREAKER_LIMITS = {
  latencyP95Ms: 150,
  latencyMinutes: 3,
  authRefusalShare: 0.05,
  /** Below this many requests in the last minute the share says nothing. */
  minRequestsForShare: 100,
} as const;

export interface BreakerTrip {
  breaker: 'latency-p95' | 'auth-refusals';
  detail: string;
}

/** The breaker that trips on the last complete minutes (oldest first), or null. */
export function evaluateBreakers(minutes: readonly MinuteStats[], limits = BREAKER_LIMITS): BreakerTrip | null {
  const recent = minutes.slice(-limits.latencyMinutes);
  const consecutive = recent.length === limits.latencyMinutes && recent.every((m, i) => i === 0 || m.minute === recent[i - 1]!.minute + 1);
  if (consecutive && recent.every((m) => m.p95Ms !== null && m.p95Ms > limits.latencyP95Ms)) {
    return { breaker: 'latency-p95', detail: `p95 above ${limits.latencyP95Ms} ms for ${limits.latencyMinutes} minutes (${recent.map((m) => Math.round(m.p95Ms!)).join(', ')} ms)` };
  }
  const last = minutes[minutes.length - 1];
  if (last && last.requests >= limits.minRequestsForShare && last.authRefusals / last.requests > limits.authRefusalShare) {
    return { breaker: 'auth-refusals', detail: `${last.authRefusals} of ${last.requests} requests refused with 401/403 (> ${limits.authRefusalShare * 100}%)` };
  }
  return null;
}
