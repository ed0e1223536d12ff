import { holds, type BreakerSpec, type Sample } from '../gates/engine';

/**
 * The oracle exposure's automatic circuit breakers: gate-engine breaker
 * predicates over per-minute traffic figures (the host measures, this decides).
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

/**
 * The breakers as gate-engine predicates (actors/gates/engine.ts) over one
 * sample per complete minute: `p95Ms`, and `authRefusalShare` only for
 * minutes with enough traffic to say anything.
 */
export function exposureBreakers(limits = BREAKER_LIMITS): BreakerSpec[] {
  return [
    {
      id: 'latency-p95',
      description: `p95 above ${limits.latencyP95Ms} ms in each of ${limits.latencyMinutes} consecutive minutes`,
      metric: 'p95Ms',
      agg: 'min',
      // The last N minutes only: a gap leaves fewer samples than minSamples.
      window: { samples: limits.latencyMinutes, ms: limits.latencyMinutes * 60_000 },
      op: '>',
      threshold: limits.latencyP95Ms,
      minSamples: limits.latencyMinutes,
      action: 'rollback',
    },
    {
      id: 'auth-refusals',
      description: `more than ${limits.authRefusalShare * 100}% of the last minute's requests refused with 401/403`,
      metric: 'authRefusalShare',
      agg: 'last',
      window: { ms: 60_000 },
      op: '>',
      threshold: limits.authRefusalShare,
      action: 'rollback',
    },
  ];
}

/** One gate-engine sample per minute, stamped at the minute's start. */
function sampleOf(m: MinuteStats, limits: typeof BREAKER_LIMITS): Sample {
  const values: Record<string, number> = { requests: m.requests };
  if (m.p95Ms !== null) values.p95Ms = m.p95Ms;
  if (m.requests >= limits.minRequestsForShare) values.authRefusalShare = m.authRefusals / m.requests;
  return { at: new Date(m.minute * 60_000).toISOString(), values };
}

/** The breaker that trips on the last complete minutes (oldest first), or null. */
export function evaluateBreakers(minutes: readonly MinuteStats[], limits = BREAKER_LIMITS): BreakerTrip | null {
  const last = minutes[minutes.length - 1];
  if (!last) return null;
  const samples = minutes.map((m) => sampleOf(m, limits));
  // Judged at the start of the last minute: the window reaches back over the N minutes that end with it.
  const at = new Date(last.minute * 60_000).toISOString();
  for (const b of exposureBreakers(limits)) {
    if (!holds({ ...b, window: { ...b.window, ms: b.window!.ms! - 60_000 } }, samples, at).passed) continue;
    if (b.id === 'latency-p95') {
      const recent = minutes.slice(-limits.latencyMinutes);
      return { breaker: 'latency-p95', detail: `p95 above ${limits.latencyP95Ms} ms for ${limits.latencyMinutes} minutes (${recent.map((m) => Math.round(m.p95Ms!)).join(', ')} ms)` };
    }
    return { breaker: 'auth-refusals', detail: `${last.authRefusals} of ${last.requests} requests refused with 401/403 (> ${limits.authRefusalShare * 100}%)` };
  }
  return null;
}
