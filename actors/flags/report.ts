/**
 * The daily report of runs per flag: pass rate, average score, latency and
 * vetoed share (means over the day's runs) and the top 3 issues by summed
 * occurrences. Pure.
 */
import type { FlagRun } from './model';

export interface DailyFlagReport {
  key: string;
  runs: number;
  passRate: number;
  avgScore: number;
  avgLatencyMs: number;
  p95LatencyMs: number;
  vetoedShare: number;
  topIssues: Array<{ issue: string; count: number }>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function dailyReport(runsByFlag: ReadonlyMap<string, readonly FlagRun[]>): DailyFlagReport[] {
  const out: DailyFlagReport[] = [];
  for (const [key, runs] of [...runsByFlag].sort(([a], [b]) => a.localeCompare(b))) {
    if (runs.length === 0) continue;
    const issues = new Map<string, number>();
    for (const r of runs) for (const [issue, n] of Object.entries(r.metrics.issues)) issues.set(issue, (issues.get(issue) ?? 0) + n);
    out.push({
      key,
      runs: runs.length,
      passRate: r6(mean(runs.map((r) => r.metrics.passRate))),
      avgScore: r6(mean(runs.map((r) => r.metrics.avgScore))),
      avgLatencyMs: r6(mean(runs.map((r) => r.metrics.avgLatencyMs))),
      p95LatencyMs: r6(mean(runs.map((r) => r.metrics.p95LatencyMs))),
      vetoedShare: r6(mean(runs.map((r) => r.metrics.vetoedShare))),
      topIssues: [...issues].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3).map(([issue, count]) => ({ issue, count })),
    });
  }
  return out;
}
