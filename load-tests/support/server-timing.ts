/**
 * Where a benchmark's latency goes on the server, read from its own
 * Prometheus histograms: a scrape before and one after a phase give the mean
 * time inside the HTTP handler chain and inside the actor for the requests of
 * that phase (sum and count deltas). The client's mean minus the handler's is
 * what HTTP, the socket writes and the load generator itself add.
 */

/** `_sum` and `_count` of each histogram series, keyed `name{labels}`. */
export type HistogramTotals = Map<string, { sum: number; count: number }>;

const SERIES = /^(\w+)_(sum|count)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$/;

export function parseHistogramTotals(text: string): HistogramTotals {
  const totals: HistogramTotals = new Map();
  for (const line of text.split('\n')) {
    const m = SERIES.exec(line);
    if (!m) continue;
    const key = `${m[1]}${m[3] ?? ''}`;
    const t = totals.get(key) ?? { sum: 0, count: 0 };
    t[m[2] as 'sum' | 'count'] = Number(m[4]);
    totals.set(key, t);
  }
  return totals;
}

export async function scrapeHistograms(baseUrl: string): Promise<HistogramTotals> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return parseHistogramTotals(await res.text());
}

/** Mean over the phase of the series whose `name{labels}` matches, in ms (seconds in the histogram); null when they saw nothing. */
export function meanMsBetween(before: HistogramTotals, after: HistogramTotals, series: RegExp): number | null {
  let sum = 0;
  let count = 0;
  for (const [key, a] of after) {
    if (!series.test(key)) continue;
    const b = before.get(key) ?? { sum: 0, count: 0 };
    sum += a.sum - b.sum;
    count += a.count - b.count;
  }
  return count > 0 ? (sum / count) * 1000 : null;
}
