import type { MinuteStats } from '../../actors/oracle/breakers';

const KEEP_MINUTES = 5;
const MAX_SAMPLES = 20_000;

interface Bucket {
  minute: number;
  requests: number;
  authRefusals: number;
  latencies: number[];
}

/** Per-minute oracle traffic figures for the breakers (this node's share of the traffic). */
export class TrafficWindow {
  #buckets: Bucket[] = [];

  record(nowMs: number, latencyMs: number, status: number, notExposed: boolean): void {
    const minute = Math.floor(nowMs / 60_000);
    let b = this.#buckets[this.#buckets.length - 1];
    if (!b || b.minute !== minute) {
      b = { minute, requests: 0, authRefusals: 0, latencies: [] };
      this.#buckets.push(b);
      if (this.#buckets.length > KEEP_MINUTES) this.#buckets.shift();
    }
    b.requests++;
    if ((status === 401 || status === 403) && !notExposed) b.authRefusals++;
    // Past the cap, keep a uniform sample (reservoir) so the p95 stays honest.
    if (b.latencies.length < MAX_SAMPLES) b.latencies.push(latencyMs);
    else {
      const j = Math.floor(Math.random() * b.requests);
      if (j < MAX_SAMPLES) b.latencies[j] = latencyMs;
    }
  }

  /** The complete minutes before `nowMs`, oldest first. */
  completeMinutes(nowMs: number): MinuteStats[] {
    const current = Math.floor(nowMs / 60_000);
    return this.#buckets
      .filter((b) => b.minute < current)
      .map((b) => ({ minute: b.minute, requests: b.requests, authRefusals: b.authRefusals, p95Ms: percentile(b.latencies, 0.95) }));
  }

  /** Forget everything (after the stage changed: the new stage starts clean). */
  reset(): void {
    this.#buckets = [];
  }
}

function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
