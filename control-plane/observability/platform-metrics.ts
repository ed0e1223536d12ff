import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LockHeldError } from '../../actors/errors';
import type { ReadinessCheck } from '../../gateway/routes/health';
import { decodeJson } from '../actor-host/protocol';
import type { Bus, Subscription } from '../ports/bus';
import type { Lock } from '../ports/lock';
import { transitionObservers } from '../registry/cas-and-record';
import type { ModelState } from '../../db/schema/enums';
import type { ModelVersionRow } from '../../db/schema';
import type { Logger } from 'pino';

const PROBE_TIMEOUT_MS = 2_000;

/** One gauge per configured dependency, probed at scrape time with the readiness checks (1 = reachable). */
export function dependencyHealthMetrics(registry: Registry, checks: readonly ReadinessCheck[]): void {
  const seconds = new Gauge({ name: 'tollgate_dependency_probe_duration_seconds', help: 'How long the readiness probe of a dependency took at the last scrape', labelNames: ['dependency'] as const, registers: [registry] });
  new Gauge({
    name: 'tollgate_dependency_up',
    help: 'Whether a dependency (postgres, nats, redis, embedded-database) answered its readiness probe at scrape time (1) or not (0)',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      await Promise.all(
        checks.map(async ({ name, check }) => {
          const t0 = performance.now();
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS)))]);
            this.set({ dependency: name }, 1);
          } catch {
            this.set({ dependency: name }, 0);
          } finally {
            clearTimeout(timer);
            seconds.set({ dependency: name }, (performance.now() - t0) / 1000);
          }
        }),
      );
    },
  });
}

/** Model-version transitions by from/to state (a bounded label set: the lifecycle's states). */
export function transitionMetrics(registry: Registry, log?: Logger): () => void {
  const transitions = new Counter({ name: 'tollgate_model_transitions_total', help: 'Model-version lifecycle transitions by from and to state', labelNames: ['from', 'to'] as const, registers: [registry] });
  const observe = (from: ModelState, to: ModelState, row: ModelVersionRow) => {
    transitions.inc({ from, to });
    log?.info({ tenantId: row.tenantId, modelVersionId: row.id, modelHash: row.artifactSha256 ?? null, from, to }, 'model version transitioned');
  };
  transitionObservers.add(observe);
  return () => void transitionObservers.delete(observe);
}

/**
 * Retrain durations and outcomes (`tollgate_training_duration_seconds`, the
 * seeds' `training_duration_seconds` with the project prefix), from the
 * saga's finishing events. A queue group makes each event count on one
 * node only, so sums across nodes are right.
 */
export function retrainMetrics(registry: Registry, bus: Bus, prefix: string, onFinished?: (seconds: number, tenantId: string, sagaId: string) => void): Subscription {
  const duration = new Histogram({
    name: 'tollgate_training_duration_seconds',
    help: 'Retrain saga duration, start to finish, by outcome (SLO < 24 h)',
    labelNames: ['outcome'] as const,
    buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 48 * 3600],
    registers: [registry],
  });
  const runs = new Counter({ name: 'tollgate_retrain_runs_total', help: 'Finished retrain sagas by outcome', labelNames: ['outcome'] as const, registers: [registry] });
  return bus.subscribe(
    `${prefix}.evt.*.retrain.*`,
    (msg) => {
      if (!msg.subject.endsWith('.retrain.validated') && !msg.subject.endsWith('.retrain.failed')) return;
      try {
        const ev = decodeJson(msg.data) as { outcome?: string; durationSeconds?: number; tenantId?: string; sagaId?: string };
        const outcome = typeof ev.outcome === 'string' && /^[A-Z_]{1,32}$/.test(ev.outcome) ? ev.outcome : msg.subject.endsWith('.validated') ? 'VALIDATED' : 'FAILED';
        runs.inc({ outcome });
        if (typeof ev.durationSeconds === 'number' && Number.isFinite(ev.durationSeconds)) {
          duration.observe({ outcome }, ev.durationSeconds);
          onFinished?.(ev.durationSeconds, String(ev.tenantId ?? ''), String(ev.sagaId ?? ''));
        }
      } catch {
        // an unreadable event is not counted
      }
    },
    { queue: `${prefix}-metrics` },
  );
}

/** The latest sequential-test p-value of each running canary (one series per canary: bounded by the tenants' canaries). */
export function canaryMetrics(registry: Registry) {
  const pValue = new Gauge({ name: 'tollgate_canary_p_value', help: 'Latest canary p-value (candidate no worse than control) per tenant and model version', labelNames: ['tenant', 'model_version'] as const, registers: [registry] });
  const latest = new Map<string, string>();
  return (tenantId: string, modelId: string, p: number) => {
    // One series per tenant: a tenant's next canary replaces its previous one.
    const previous = latest.get(tenantId);
    if (previous && previous !== modelId) pValue.remove({ tenant: tenantId, model_version: previous });
    latest.set(tenantId, modelId);
    pValue.set({ tenant: tenantId, model_version: modelId }, p);
  };
}

/** Lock acquisitions timed by outcome (acquired, held by another, error). */
export function lockMetrics(registry: Registry): (lock: Lock) => Lock {
  const wait = new Histogram({
    name: 'tollgate_lock_acquire_duration_seconds',
    help: 'Time to acquire (or be refused) a distributed lock, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  return (lock) => ({
    async acquire(key, ttlMs) {
      const t0 = performance.now();
      try {
        const lease = await lock.acquire(key, ttlMs);
        wait.observe({ outcome: 'acquired' }, (performance.now() - t0) / 1000);
        return lease;
      } catch (err) {
        wait.observe({ outcome: err instanceof LockHeldError ? 'held' : 'error' }, (performance.now() - t0) / 1000);
        throw err;
      }
    },
    releaseOwned: (key, owner) => lock.releaseOwned(key, owner),
    close: () => lock.close(),
  });
}
