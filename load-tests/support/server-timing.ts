import type { ParsedSample } from 'parse-prometheus-text-format';
import { samplesByName, samplesWith } from '../../test/support/prometheus';

/**
 * Where a benchmark's latency goes on the server, read from its own
 * Prometheus histograms: a scrape before and one after a phase give the mean
 * time inside the HTTP handler chain and inside the actor for the requests of
 * that phase (sum and count deltas). The client's mean minus the handler's is
 * what HTTP, the socket writes and the load generator itself add.
 */

/** Every sample by sample name (a histogram's `_sum` and `_count` included, with their labels). */
export type Scrape = Map<string, ParsedSample[]>;

export async function scrapeMetrics(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return samplesByName(await res.text());
}

/** Mean over the phase of a histogram's series carrying `labels`, in ms (seconds in the histogram); null when they saw nothing. */
export function meanMsBetween(before: Scrape, after: Scrape, histogram: string, labels: Record<string, string>): number | null {
  const total = (scrape: Scrape, part: 'sum' | 'count') => samplesWith(scrape, `${histogram}_${part}`, labels).reduce((n, s) => n + Number(s.value), 0);
  const count = total(after, 'count') - total(before, 'count');
  return count > 0 ? ((total(after, 'sum') - total(before, 'sum')) / count) * 1000 : null;
}
