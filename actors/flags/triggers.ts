/**
 * Automatic kill triggers, checked on every run a flag reports (the risk
 * register's signals). Pure: the service kills when one fires.
 *
 * - latency: the run's average latency more than 10 % above the average of
 *   the previous runs at this stage (at most 3);
 * - error spike: error + timeout rate above 5 %, or above 1 % and more than
 *   3× the previous runs' average;
 * - a user-blocking report.
 */
import { GATE_RUNS } from './gates';
import type { FlagRun, RunMetrics } from './model';

export const LATENCY_DELTA_LIMIT = 0.1;
export const ERROR_SPIKE_ABSOLUTE = 0.05;
export const ERROR_SPIKE_FLOOR = 0.01;
export const ERROR_SPIKE_FACTOR = 3;

export interface Trigger {
  id: 'latency_regression' | 'error_spike' | 'user_blocking_report';
  reason: string;
  evidence: Record<string, number>;
}

export function firedTriggers(run: RunMetrics, previous: readonly FlagRun[]): Trigger[] {
  const fired: Trigger[] = [];
  const prev = previous.slice(-GATE_RUNS);
  if (prev.length > 0) {
    const prevLatency = prev.reduce((a, r) => a + r.metrics.avgLatencyMs, 0) / prev.length;
    const delta = prevLatency > 0 ? (run.avgLatencyMs - prevLatency) / prevLatency : 0;
    if (delta > LATENCY_DELTA_LIMIT) {
      fired.push({ id: 'latency_regression', reason: `average latency Δ ${(delta * 100).toFixed(1)} % > +${LATENCY_DELTA_LIMIT * 100} % (${run.avgLatencyMs} ms vs ${prevLatency.toFixed(1)} ms over the previous ${prev.length} run(s))`, evidence: { avgLatencyMs: run.avgLatencyMs, previousAvgLatencyMs: prevLatency, delta } });
    }
  }
  const failure = run.errorRate + run.timeoutRate;
  const prevFailure = prev.length ? prev.reduce((a, r) => a + r.metrics.errorRate + r.metrics.timeoutRate, 0) / prev.length : null;
  if (failure > ERROR_SPIKE_ABSOLUTE || (failure > ERROR_SPIKE_FLOOR && prevFailure !== null && failure > ERROR_SPIKE_FACTOR * prevFailure)) {
    fired.push({ id: 'error_spike', reason: `error + timeout rate ${(failure * 100).toFixed(2)} %${prevFailure !== null ? ` (previous ${(prevFailure * 100).toFixed(2)} %)` : ''} is a spike (> ${ERROR_SPIKE_ABSOLUTE * 100} %, or > ${ERROR_SPIKE_FLOOR * 100} % and ${ERROR_SPIKE_FACTOR}× the previous)`, evidence: { failureRate: failure, ...(prevFailure !== null ? { previousFailureRate: prevFailure } : {}) } });
  }
  if (run.userBlockingReports > 0) fired.push({ id: 'user_blocking_report', reason: `${run.userBlockingReports} user-blocking report(s)`, evidence: { userBlockingReports: run.userBlockingReports } });
  return fired;
}
