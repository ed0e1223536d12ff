import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DriftReportBody } from '../../actors/tenant/drift-window';
import { TOP_TENANT_SERIES } from '../observability/bounded-tenant-gauge';
import { driftMetrics } from './drift-metrics';

const report = (tenantId: string, driftScore: number, relativeMaeDelta: number) =>
  ({ tenantId, driftScore, breach: false, models: { m: { n: 100, mae: 1, rmse: 1, bias: 0, baselineMae: 1, relativeMaeDelta } } }) as unknown as DriftReportBody;

test('500 tenants: per-tenant series stay at the top N, the aggregate covers all', async () => {
  const registry = new Registry();
  const m = driftMetrics(registry);
  for (let i = 0; i < 500; i++) m.reported(`t-${i}`, report(`t-${i}`, i / 1000, i / 100));
  m.reported('t-3', report('t-3', 0.9, 0)); // an update replaces, it does not add
  const families = new Map(parsePrometheusTextFormat(await registry.metrics()).map((f) => [f.name, f]));
  const score = families.get('tollgate_drift_score')!;
  assert.is(score.type, 'GAUGE');
  assert.is(score.metrics.length, TOP_TENANT_SERIES);
  assert.equal(score.metrics[0]!.labels, { tenant: 't-3' }, 'the worst (highest) drift first');
  assert.ok(score.metrics.every((s) => s.labels?.tenant === 't-3' || Number(s.labels?.tenant?.slice(2)) >= 500 - TOP_TENANT_SERIES));
  const agg = Object.fromEntries(families.get('tollgate_drift_score_aggregate')!.metrics.map((s) => [s.labels!.stat, Number(s.value)]));
  assert.is(agg.max, 0.9);
  assert.is(agg.min, 0);
  assert.is(families.get('tollgate_drift_score_tenants')!.metrics[0]!.value, '500');
  const accuracy = families.get('tollgate_model_accuracy')!;
  assert.is(accuracy.metrics.length, TOP_TENANT_SERIES);
  assert.is(Number(accuracy.metrics[0]!.value), 1 / (1 + 4.99), 'the least accurate first');
  const total = [...families.values()].reduce((n, f) => n + f.metrics.length, 0);
  assert.ok(total < 80, `${total} series for 500 tenants`);
});

test.run();
