import parsePrometheusTextFormat, { type ParsedSample } from 'parse-prometheus-text-format';

/**
 * Every sample of a Prometheus text exposition with its labels, by sample
 * name (a histogram's `_bucket`, `_sum` and `_count` included). The parser
 * folds a histogram's series into one and drops their labels (prom2json's
 * shape); parsed without the HELP/TYPE lines, every sample comes out on its
 * own with its labels.
 */
export function samplesByName(text: string): Map<string, ParsedSample[]> {
  const samples = new Map<string, ParsedSample[]>();
  for (const f of parsePrometheusTextFormat(text.replace(/^# (HELP|TYPE) .*\n/gm, ''))) samples.set(f.name, [...(samples.get(f.name) ?? []), ...f.metrics]);
  return samples;
}

/** The samples named `name` whose labels include `labels`. */
export function samplesWith(samples: Map<string, ParsedSample[]>, name: string, labels: Record<string, string>): ParsedSample[] {
  return (samples.get(name) ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
}
