import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alerts, auditLog, modelVersions } from '../../db/schema';
import type { ModelVersionId } from '../../db/schema/enums';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  admin: ReturnType<typeof client>;
  cleanup(): Promise<void>;
}

const MINUTE = 60_000;

async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function metricValue(sys: Sys, line: RegExp): Promise<string | undefined> {
  const text = await (await sys.app.request('/metrics')).text();
  return text.split('\n').find((l) => line.test(l))?.split(' ').pop();
}

async function alertOf(sys: Sys, kind: string) {
  return (await sys.database.db.select().from(alerts).where(eq(alerts.kind, kind)))[0];
}

function sloSuite(name: string, makeEnv: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`SLO monitors: ${name}`, {} as Ctx);
  test.before(async (ctx) => {
    const made = await makeEnv();
    ctx.cleanup = made.cleanup;
    ctx.sys = await startTestSystem(made.env);
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm' })).status, 201);
  });
  test.after(async (ctx) => {
    await ctx.sys?.dispose();
    await ctx.cleanup?.();
  });

  test('the objectives are exported', async (ctx) => {
    assert.is(await metricValue(ctx.sys, /^tollgate_slo_objective_seconds\{slo="rollout_window"\}/), '3600');
    assert.is(await metricValue(ctx.sys, /^tollgate_slo_objective_seconds\{slo="drift_detection"\}/), '14400');
    assert.is(await metricValue(ctx.sys, /^tollgate_slo_objective_seconds\{slo="retraining"\}/), '86400');
  });

  test('a canary undecided after 1 h is rolled back, alerted (P2) and audited; one within the window is not', async (ctx) => {
    const model = await ctx.admin('POST', '/api/v1/tenants/farm/models', { label: 'v2', owner: 'ana', featureSignature: 'ndvi', artifactSha256: 'c'.repeat(64) });
    assert.is(model.status, 201, model.text);
    const id = model.body.id as string;
    // A canary without a promotion (placed directly: setup only), so no gate engine decides on it.
    await ctx.sys.database.db.update(modelVersions).set({ state: 'CANARY', canaryTrafficPercent: 10, updatedAt: ctx.sys.clock.now() }).where(eq(modelVersions.id, id as ModelVersionId));
    ctx.sys.clock.increment(50 * MINUTE);
    await ctx.sys.slo.sweep();
    assert.is((await ctx.admin('GET', `/api/v1/models/${id}`)).body.state, 'CANARY', 'still within its window');
    ctx.sys.clock.increment(11 * MINUTE); // the periodic sweep on the clock finds it
    const failed = await until(async () => {
      const m = (await ctx.admin('GET', `/api/v1/models/${id}`)).body;
      return m.state === 'FAILED' ? m : null;
    }, 'the canary rolled back');
    assert.ok(!failed.canaryTrafficPercent, `traffic ${failed.canaryTrafficPercent}`);
    const alert = await until(() => alertOf(ctx.sys, 'slo.rollout-window'), 'the SLO alert');
    assert.is(alert.severity, 'P2');
    assert.is(alert.tenantId, 'farm');
    assert.match(alert.message, /undecided after 6\d min/);
    await until(async () => (await ctx.sys.database.db.select().from(auditLog).where(eq(auditLog.action, 'slo.breached'))).length === 1, 'audited');
    assert.is(await metricValue(ctx.sys, /^tollgate_slo_breaches_total\{slo="rollout_window"\}/), '1');
    ctx.sys.clock.increment(2 * MINUTE);
    await ctx.sys.slo.sweep();
    assert.is(await metricValue(ctx.sys, /^tollgate_slo_breaches_total\{slo="rollout_window"\}/), '1', 'once');
  });

  test('drift detection over 4 h and a retrain over 24 h are breaches; within them are not', async (ctx) => {
    ctx.sys.slo.driftDetected(3 * 3600, 'farm');
    ctx.sys.slo.retrainFinished(20 * 3600, 'farm', 'saga-ok');
    ctx.sys.slo.driftDetected(5 * 3600, 'farm');
    ctx.sys.slo.retrainFinished(30 * 3600, 'farm', 'saga-slow');
    const drift = await until(() => alertOf(ctx.sys, 'slo.drift-detection'), 'drift SLO alert');
    assert.is(drift.severity, 'P2');
    assert.match(drift.message, /5\.0 h/);
    assert.is(drift.tenantId, null, 'a platform alert');
    assert.is((drift.details as Record<string, unknown>).tenantId, 'farm');
    const retrain = await until(() => alertOf(ctx.sys, 'slo.retraining'), 'retraining SLO alert');
    assert.is(retrain.severity, 'P3');
    assert.match(retrain.message, /saga-slow took 30\.0 h/);
    assert.is(await metricValue(ctx.sys, /^tollgate_slo_breaches_total\{slo="drift_detection"\}/), '1');
    assert.is(await metricValue(ctx.sys, /^tollgate_slo_breaches_total\{slo="retraining"\}/), '1');
  });

  test('availability: 5xx answers over the window lower the ratio and breach the objective', async (ctx) => {
    for (let i = 0; i < 150; i++) ctx.sys.slo.httpAnswered(i < 10 ? 503 : 200);
    await ctx.sys.slo.sweep();
    const ratio = Number(await metricValue(ctx.sys, /^tollgate_slo_availability_ratio /));
    assert.ok(ratio < 0.95 && ratio > 0.9, `ratio ${ratio}`);
    const alert = await until(() => alertOf(ctx.sys, 'slo.availability'), 'availability alert');
    assert.match(alert.message, /10 of 1\d\d API requests failed/);
  });

  return test;
}

const pg = await requirePostgres();
const nats = await requireNats();
sloSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined })).run();
if (pg && nats) sloSuite('Postgres + NATS', () => realServicesEnv('slo', { TOLLGATE_NODE_ID: 'slo-node' })).run();
