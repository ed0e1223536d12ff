import type { MinuteStats } from '../../actors/oracle/breakers';

const KEEP_MINUTES = 5;

/**
 * A latency histogram that merges across nodes: 1 ms buckets up to 1 s (a
 * bucket holds (k-1, k] ms and stands for k), then 1% log buckets. Breaker
 * thresholds are whole milliseconds, so the p95 it gives compares exactly.
 */
export type LatencyHistogram = Record<string, number>;

const LOG_BASE = Math.log(1.01);

export function latencyBucket(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms <= 1000) return Math.ceil(ms);
  return 1000 + Math.ceil(Math.log(ms / 1000) / LOG_BASE);
}

export function bucketUpperMs(bucket: number): number {
  return bucket <= 1000 ? bucket : 1000 * Math.exp((bucket - 1000) * LOG_BASE);
}

/** The q-quantile of a histogram (the upper bound of the bucket holding it); null when empty. */
export function histogramQuantile(h: LatencyHistogram, q: number): number | null {
  const buckets = Object.keys(h).map(Number).sort((a, b) => a - b);
  const total = buckets.reduce((n, b) => n + h[b]!, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const b of buckets) {
    seen += h[b]!;
    if (seen >= rank) return bucketUpperMs(b);
  }
  return bucketUpperMs(buckets[buckets.length - 1]!);
}

export function mergeHistograms(into: LatencyHistogram, from: LatencyHistogram): LatencyHistogram {
  for (const [b, n] of Object.entries(from)) into[b] = (into[b] ?? 0) + n;
  return into;
}

/** One node's figures for one minute; what the cluster-wide breaker check adds up. */
export interface MinuteFigures {
  minute: number;
  requests: number;
  authRefusals: number;
  latency: LatencyHistogram;
}

/** Per-minute oracle traffic figures for the breakers (this node's share of the traffic). */
export class TrafficWindow {
  #buckets: MinuteFigures[] = [];

  record(nowMs: number, latencyMs: number, status: number, notExposed: boolean): void {
    const minute = Math.floor(nowMs / 60_000);
    let b = this.#buckets[this.#buckets.length - 1];
    if (!b || b.minute !== minute) {
      b = { minute, requests: 0, authRefusals: 0, latency: {} };
      this.#buckets.push(b);
      if (this.#buckets.length > KEEP_MINUTES) this.#buckets.shift();
    }
    b.requests++;
    if ((status === 401 || status === 403) && !notExposed) b.authRefusals++;
    const k = latencyBucket(latencyMs);
    b.latency[k] = (b.latency[k] ?? 0) + 1;
  }

  /** This node's complete minutes before `nowMs`, raw (to be shared with the other nodes). */
  completeFigures(nowMs: number): MinuteFigures[] {
    const current = Math.floor(nowMs / 60_000);
    return this.#buckets.filter((b) => b.minute < current);
  }

  /** The complete minutes before `nowMs`, oldest first. */
  completeMinutes(nowMs: number): MinuteStats[] {
    return this.completeFigures(nowMs).map(toStats);
  }

  /** Forget everything (after the stage changed: the new stage starts clean). */
  reset(): void {
    this.#buckets = [];
  }
}

export function toStats(f: MinuteFigures): MinuteStats {
  return { minute: f.minute, requests: f.requests, authRefusals: f.authRefusals, p95Ms: histogramQuantile(f.latency, 0.95) };
}

/** Adds up several nodes' figures per minute, oldest first. */
export function mergeFigures(rows: readonly MinuteFigures[]): MinuteFigures[] {
  const byMinute = new Map<number, MinuteFigures>();
  for (const r of rows) {
    const m = byMinute.get(r.minute) ?? { minute: r.minute, requests: 0, authRefusals: 0, latency: {} };
    m.requests += r.requests;
    m.authRefusals += r.authRefusals;
    mergeHistograms(m.latency, r.latency);
    byMinute.set(r.minute, m);
  }
  return [...byMinute.values()].sort((a, b) => a.minute - b.minute);
}
