import { Gauge, Histogram, type Registry } from 'prom-client';
import type { DriftReportBody } from '../../actors/tenant/drift-window';

/** Above this many tenants, per-tenant drift gauges would be too many series: only the aggregate is kept. */
export const MAX_TENANT_SERIES = 200;

/** Drift figures in /metrics: scores per tenant (bounded), breaches, detection latency (SLO < 4 h). */
export function driftMetrics(registry: Registry) {
  const score = new Gauge({
    name: 'tollgate_drift_score',
    help: 'Latest 7-day DriftScore (mean daily max PSI) per tenant; at most MAX_TENANT_SERIES tenants',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  const breaching = new Gauge({ name: 'tollgate_drift_breaching_tenants', help: 'Tenants in a sustained drift breach', registers: [registry] });
  const latency = new Histogram({
    name: 'tollgate_drift_detection_latency_seconds',
    help: 'Newest event of the confirming day to the P2 alert of a sustained drift breach (SLO < 4 h)',
    buckets: [60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400],
    registers: [registry],
  });
  const tenants = new Set<string>();
  const breaches = new Set<string>();
  return {
    reported(tenantId: string, report: DriftReportBody): void {
      if (report.breach) breaches.add(tenantId);
      else breaches.delete(tenantId);
      breaching.set(breaches.size);
      if (report.driftScore === null) return;
      if (tenants.has(tenantId) || tenants.size < MAX_TENANT_SERIES) {
        tenants.add(tenantId);
        score.set({ tenant: tenantId }, report.driftScore);
      }
    },
    detectionLatency(seconds: number): void {
      latency.observe(Math.max(0, seconds));
    },
  };
}
export type DriftMetrics = ReturnType<typeof driftMetrics>;
