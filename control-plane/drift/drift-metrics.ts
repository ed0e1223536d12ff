import { Gauge, Histogram, type Registry } from 'prom-client';
import type { DriftReportBody } from '../../actors/tenant/drift-window';
import { BoundedTenantGauge } from '../observability/bounded-tenant-gauge';

/** The drift-detection SLO of the seeds: a sustained breach alerted within 4 h of its confirming data. */
export const DRIFT_DETECTION_SLO_SECONDS = 4 * 3600;

/**
 * Drift figures in /metrics: scores per tenant (bounded: top N + aggregate),
 * model accuracy from the same reports, breaches, detection latency (SLO < 4 h).
 */
export function driftMetrics(registry: Registry, onDetectionLatency?: (seconds: number, tenantId: string) => void) {
  const score = new BoundedTenantGauge({ registry, name: 'tollgate_drift_score', help: 'Latest 7-day DriftScore (mean daily max PSI) per tenant', worst: 'highest' });
  const accuracy = new BoundedTenantGauge({
    registry,
    name: 'tollgate_model_accuracy',
    help: "Champion accuracy against its baseline from the latest drift report: 1 / (1 + max(0, relative MAE increase)); 1 = as good as at baseline",
    worst: 'lowest',
  });
  const breaching = new Gauge({ name: 'tollgate_drift_breaching_tenants', help: 'Tenants in a sustained drift breach', registers: [registry] });
  const latency = new Histogram({
    name: 'tollgate_drift_detection_latency_seconds',
    help: 'Newest event of the confirming day to the P2 alert of a sustained drift breach (SLO < 4 h)',
    buckets: [60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400],
    registers: [registry],
  });
  const breaches = new Set<string>();
  return {
    reported(tenantId: string, report: DriftReportBody): void {
      if (report.breach) breaches.add(tenantId);
      else breaches.delete(tenantId);
      breaching.set(breaches.size);
      if (report.driftScore !== null) score.set(tenantId, report.driftScore);
      // The model with the most labelled outcomes that day is the one serving most traffic (the champion).
      const serving = Object.values(report.models ?? {}).sort((a, b) => b.n - a.n)[0];
      if (serving?.relativeMaeDelta !== null && serving?.relativeMaeDelta !== undefined) accuracy.set(tenantId, 1 / (1 + Math.max(0, serving.relativeMaeDelta)));
    },
    detectionLatency(seconds: number, tenantId = ''): void {
      latency.observe(Math.max(0, seconds));
      onDetectionLatency?.(seconds, tenantId);
    },
  };
}
export type DriftMetrics = ReturnType<typeof driftMetrics>;
