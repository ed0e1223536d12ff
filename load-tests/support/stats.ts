import { readFileSync } from 'node:fs';

/** Latency samples of one measured phase, and what they summarize to. */
export interface PhaseResult {
  /** Requests that succeeded inside the measured window. */
  ok: number;
  errors: number;
  /** Wall time of the measured window, ms (start to the last reply). */
  elapsedMs: number;
  /** Per-request latency of successful requests, ms. */
  latencies: number[];
  /** CPU used during the measured window, ms: the server child (null if unknown) and this process. */
  cpu: { serverMs: number | null; benchMs: number };
  /** Share of all cores busy during the window (whole machine, 0..1); null where /proc is unavailable. */
  machineBusy: number | null;
}

export interface Summary {
  ok: number;
  errors: number;
  throughput: number;
  p50: number;
  p99: number;
  /** CPU per successful request, ms (server child; this process). */
  serverCpuPerTx: number;
  benchCpuPerTx: number;
  machineBusy: number;
}

/** Nearest-rank percentile of an ascending-sorted array (q in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(r: PhaseResult): Summary {
  const sorted = Float64Array.from(r.latencies).sort();
  const asArray = Array.from(sorted);
  return {
    ok: r.ok,
    errors: r.errors,
    throughput: r.elapsedMs > 0 ? (r.ok * 1000) / r.elapsedMs : 0,
    p50: percentile(asArray, 0.5),
    p99: percentile(asArray, 0.99),
    serverCpuPerTx: r.cpu.serverMs === null || r.ok === 0 ? Number.NaN : r.cpu.serverMs / r.ok,
    benchCpuPerTx: r.ok === 0 ? Number.NaN : r.cpu.benchMs / r.ok,
    machineBusy: r.machineBusy ?? Number.NaN,
  };
}

/** Renders rows as a Markdown table (also readable on a terminal). */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export const fmt = {
  rate: (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a'),
  ms: (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a'),
  ratio: (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a'),
};

/** Whole-machine CPU counters from /proc/stat (Linux); null elsewhere. */
export function machineCpu(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return Number.isFinite(total) && total > 0 ? { busy: total - idle, total } : null;
  } catch {
    return null;
  }
}

export function busyShare(a: { busy: number; total: number } | null, b: { busy: number; total: number } | null): number | null {
  if (!a || !b || b.total <= a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}
