import { eq, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { learningEvents, modelVersions, retrainRuns } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
type Client = ReturnType<typeof client>;
interface Ctx {
  sys: Sys;
  admin: Client;
  manager: Client;
  agronomist: Client;
  v1: string;
  v2: string;
  batch: number;
  promotedAt: number;
  cleanup(): Promise<void>;
}

const DAY = 86_400_000;
const ARTIFACT = (c: string) => c.repeat(64);
const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stored(ctx: Ctx, tenantId: string): Promise<number> {
  const [r] = await ctx.sys.database.db.select({ n: sql<number>`count(*)::int` }).from(learningEvents).where(eq(learningEvents.tenantId, tenantId as TenantId));
  return r!.n;
}

/** `n` labelled predictions of `modelId`, each off by exactly `error`, at `at` (+ i ms), through the ingestion API; waits until stored. */
async function post(ctx: Ctx, modelId: string, n: number, error: number, at: number, tenantId = 'farm') {
  const batch = ctx.batch++;
  const events = Array.from({ length: n }, (_, i) => {
    const actual = 3 + (i % 7) * 0.25;
    return { idempotencyKey: `b${batch}-${i}`, modelVersionId: modelId, ts: new Date(at + i).toISOString(), features: { ndvi: 0.4 }, prediction: actual + (i % 2 ? error : -error), actual };
  });
  const before = await stored(ctx, tenantId);
  const res = await ctx.manager('POST', `/api/v1/tenants/${tenantId}/events`, { events });
  assert.is(res.status, 200, res.text);
  assert.is(res.body.accepted, n, res.text);
  await until(async () => (await stored(ctx, tenantId)) >= before + n, `${n} events stored`);
}

async function postRaw(ctx: Ctx, events: Array<Record<string, unknown>>, tenantId = 'farm') {
  const before = await stored(ctx, tenantId);
  const res = await ctx.manager('POST', `/api/v1/tenants/${tenantId}/events`, { events });
  assert.is(res.status, 200, res.text);
  assert.is(res.body.accepted, events.length, res.text);
  await until(async () => (await stored(ctx, tenantId)) >= before + events.length, `${events.length} events stored`);
}

async function walk(ctx: Ctx, id: string, states: string[]) {
  for (const to of states) {
    const model = (await ctx.manager('GET', `/api/v1/models/${id}`)).body;
    const res = await ctx.manager('POST', `/api/v1/models/${id}/transitions`, { to, reason: 'test', idempotencyKey: `${id}-${to}`, expectedRevision: model.revision });
    assert.is(res.status, 200, res.text);
  }
}

function impactSuite(label: string, setup: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`impact: accuracy since the last promotion (${label})`, {} as Ctx);

  test.before(async (ctx) => {
    const s = await setup();
    ctx.cleanup = s.cleanup;
    ctx.sys = await startTestSystem(s.env);
    ctx.batch = 0;
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    ctx.manager = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' })).body.token);
    ctx.agronomist = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' })).body.token);
    for (const id of ['farm', 'barn']) assert.is((await ctx.admin('POST', '/api/v1/tenants', { id, name: id, stage: 'PILOT' })).status, 201);
    ctx.v1 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('a') })).body.id;
    ctx.v2 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v2', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('b') })).body.id;
    // The first champions are placed directly (setup only): their own promotion is not under test.
    const b1 = (await ctx.manager('POST', '/api/v1/tenants/barn/models', { label: 'b1', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('c') })).body.id;
    for (const [tenant, id] of [['farm', ctx.v1], ['barn', b1]] as const) {
      await ctx.sys.database.db.update(modelVersions).set({ state: 'CHAMPION', canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, id as ModelVersionId));
      await ctx.sys.database.db.execute(sql`update tenants set champion_id = ${id}::uuid where id = ${tenant}`);
    }
  });

  test.after(async (ctx) => {
    await ctx.sys?.dispose();
    await ctx.cleanup?.();
  });

  test('no promotion yet: champions listed, nothing measured, no made-up figures', async (ctx) => {
    const res = await ctx.agronomist('GET', '/api/v1/impact/accuracy');
    assert.is(res.status, 200, res.text);
    assert.equal(res.body.tenants.map((t: { tenantId: string }) => t.tenantId), ['barn', 'farm']);
    for (const t of res.body.tenants) {
      assert.is(t.promotedAt, null);
      assert.is(t.relativeMaeChange, null);
      assert.equal(t.current, { n: 0, mae: null });
    }
    assert.equal(res.body.summary, {
      withChampion: 2,
      measured: 0,
      improved: 0,
      worse: 0,
      pooled: { previousMae: null, currentMae: null, nPrevious: 0, nCurrent: 0, relativeMaeChange: null },
      money: { valued: 0, spendUsd: 0, benefitUsd: 0, netUsd: 0, roi: null },
    });
    for (const t of res.body.tenants) assert.equal(t.money, { valuePerErrorUnitUsd: null, unit: null, served: 0, retrainRuns: 0, spendUsd: 0, benefitUsd: null, netUsd: null, roi: null });
  });

  test('the new champion against the one it replaced: MAE since the promotion vs the window before it', async (ctx) => {
    const t0 = ctx.sys.clock.now().getTime();
    // The old champion: 200 predictions off by 1 in the window, 10 off by 100 forty days before (outside 30 days).
    await post(ctx, ctx.v1, 10, 100, t0 - 40 * DAY);
    await post(ctx, ctx.v1, 200, 1, t0 - DAY);
    // v2 as a canary before its promotion (off by 5): not "since the promotion".
    await walk(ctx, ctx.v2, ['TRAINING', 'VALIDATED', 'SHADOW', 'CANARY']);
    await post(ctx, ctx.v2, 40, 5, t0 - 60_000);
    ctx.sys.clock.increment(60_000);
    await ctx.sys.database.db.update(modelVersions).set({ canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, ctx.v2 as ModelVersionId));
    assert.is((await ctx.manager('POST', `/api/v1/models/${ctx.v2}/approvals`, { decision: 'approve', justification: 'canary better' })).status, 201);
    await walk(ctx, ctx.v2, ['CHAMPION']);
    const promotedAt = ctx.sys.clock.now().getTime();
    ctx.sys.clock.increment(60_000);
    // Since the promotion: 150 predictions off by 0.5 …
    await post(ctx, ctx.v2, 150, 0.5, promotedAt + 1_000);
    // … failed servings (not predictions anyone used) are left out …
    await postRaw(ctx, Array.from({ length: 20 }, (_, i) => ({ idempotencyKey: `err-${i}`, modelVersionId: ctx.v2, ts: new Date(promotedAt + 2_000 + i).toISOString(), features: { ndvi: 0.4 }, prediction: 60, actual: 3, outcome: 'error' })));
    // … and a delayed label counts once, with its prediction (off by 0.5 too: 151 of them).
    await postRaw(ctx, [{ idempotencyKey: 'late-p', predictionId: 'late', modelVersionId: ctx.v2, ts: new Date(promotedAt + 3_000).toISOString(), features: { ndvi: 0.4 }, prediction: 3.5 }]);
    await postRaw(ctx, [{ idempotencyKey: 'late-l', predictionId: 'late', modelVersionId: ctx.v2, ts: new Date(promotedAt + 3_000).toISOString(), features: { ndvi: 0.4 }, prediction: 3.5, actual: 3 }]);

    const res = await ctx.agronomist('GET', '/api/v1/impact/accuracy');
    assert.is(res.status, 200, res.text);
    const farm = res.body.tenants.find((t: { tenantId: string }) => t.tenantId === 'farm');
    assert.is(farm.championId, ctx.v2);
    assert.is(farm.championLabel, 'v2');
    assert.is(farm.previousId, ctx.v1);
    assert.is(farm.previousLabel, 'v1');
    assert.is(farm.promotedAt, new Date(promotedAt).toISOString());
    assert.is(farm.current.n, 151);
    close(farm.current.mae, 0.5, 'current MAE');
    assert.is(farm.previous.n, 200);
    close(farm.previous.mae, 1, 'previous MAE');
    close(farm.relativeMaeChange, -0.5, 'relative change');
    assert.is(res.body.summary.measured, 1);
    assert.is(res.body.summary.improved, 1);
    assert.is(res.body.summary.worse, 0);
    close(res.body.summary.pooled.relativeMaeChange, -0.5, 'pooled');
    // A longer window reaches the old predictions too.
    const wide = (await ctx.agronomist('GET', '/api/v1/impact/accuracy?windowDays=60&tenantId=farm')).body;
    assert.is(wide.tenants.length, 1);
    assert.is(wide.tenants[0].previous.n, 210);
    close(wide.tenants[0].previous.mae, (200 * 1 + 10 * 100) / 210, 'previous MAE over 60 days');
    // No economics yet: the change is measured but not valued.
    assert.equal(farm.money, { valuePerErrorUnitUsd: null, unit: null, served: 151, retrainRuns: 0, spendUsd: 0, benefitUsd: null, netUsd: null, roi: null });
    ctx.promotedAt = promotedAt;
  });

  test('economics (PUT …/economics): MANAGER sets them, audited, a replay writes nothing; bad input and roles refused in words', async (ctx) => {
    const url = '/api/v1/tenants/farm/economics';
    const body = { valuePerErrorUnitUsd: 2, unit: 't/ha of yield', justification: 'agronomy team estimate, season 2026' };
    const auditOf = async () => ((await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; actor: string; payload: Record<string, unknown> }>).filter((e) => e.action === 'tenant.economics.changed');
    const before = (await ctx.admin('GET', '/api/v1/tenants/farm')).body;
    assert.is(before.economics, null);

    const refused = await ctx.agronomist('PUT', url, body);
    assert.is(refused.status, 403, refused.text);
    assert.is(refused.body.error.code, 'FORBIDDEN');
    const anonymous = client(ctx.sys.app);
    assert.is((await anonymous('PUT', url, body)).status, 401);
    for (const [bad, msg] of [
      [{ ...body, valuePerErrorUnitUsd: -1 }, /valuePerErrorUnitUsd must not be negative/],
      [{ ...body, valuePerErrorUnitUsd: 5e6 }, /at most 1,000,000/],
      [{ ...body, valuePerErrorUnitUsd: '2' }, /valuePerErrorUnitUsd/],
      [{ valuePerErrorUnitUsd: 2, unit: 't/ha' }, /justification/],
      [{ ...body, unit: 'x'.repeat(61) }, /unit/],
      [{ ...body, currency: 'EUR' }, /currency/],
    ] as const) {
      const res = await ctx.manager('PUT', url, bad);
      assert.is(res.status, 400, res.text);
      assert.is(res.body.error.code, 'BAD_REQUEST');
      assert.match(res.body.error.message, msg);
    }
    const big = await ctx.manager('PUT', url, { ...body, justification: 'x'.repeat(300 * 1024) });
    assert.is(big.status, 413, big.text);
    assert.is((await ctx.manager('PUT', '/api/v1/tenants/nowhere/economics', body)).status, 404);
    assert.is((await ctx.admin('GET', '/api/v1/tenants/farm')).body.revision, before.revision, 'nothing written by refused requests');
    assert.is((await auditOf()).length, 0);

    const ok = await ctx.manager('PUT', url, body);
    assert.is(ok.status, 200, ok.text);
    assert.equal(ok.body.economics, { valuePerErrorUnitUsd: 2, unit: 't/ha of yield' });
    assert.is(ok.body.revision, before.revision + 1);
    const again = await ctx.manager('PUT', url, body);
    assert.is(again.status, 200, again.text);
    assert.is(again.body.revision, before.revision + 1, 'the same economics again change nothing');
    const entries = await auditOf();
    assert.is(entries.length, 1);
    assert.equal(entries[0]!.payload, { tenantId: 'farm', from: null, to: { valuePerErrorUnitUsd: 2, unit: 't/ha of yield' }, justification: body.justification });
  });

  test('ROI: the accuracy gained, valued, against the retraining spent in the window before the promotion', async (ctx) => {
    const p = ctx.promotedAt;
    const run = (id: number, at: number, costUsd: number) => ({ sagaId: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`, tenantId: 'farm' as TenantId, outcome: 'succeeded', seconds: 60, gpuHours: 1, costUsd, startedAt: new Date(at), finishedAt: new Date(at + 60_000) });
    // In the window: two runs (one failed, still spent). Outside: 40 days before, after the promotion, another tenant.
    await ctx.sys.database.db.insert(retrainRuns).values([run(1, p - 2 * DAY, 7.5), { ...run(2, p - DAY, 2.5), outcome: 'failed' }, run(3, p - 40 * DAY, 999), run(4, p + 1_000, 500), { ...run(5, p - DAY, 123), tenantId: 'barn' as TenantId }]);
    const res = await ctx.agronomist('GET', '/api/v1/impact/accuracy');
    assert.is(res.status, 200, res.text);
    const farm = res.body.tenants.find((t: { tenantId: string }) => t.tenantId === 'farm');
    // (1 − 0.5) × 151 served × $2 = $151 benefit; $10 spent → net $141, ROI 14.1.
    assert.is(farm.money.valuePerErrorUnitUsd, 2);
    assert.is(farm.money.unit, 't/ha of yield');
    assert.is(farm.money.served, 151);
    assert.is(farm.money.retrainRuns, 2);
    close(farm.money.spendUsd, 10, 'spend');
    close(farm.money.benefitUsd, 151, 'benefit');
    close(farm.money.netUsd, 141, 'net');
    close(farm.money.roi, 14.1, 'roi');
    // barn has no promotion: nothing valued, its spend not counted.
    assert.is(res.body.summary.money.valued, 1);
    close(res.body.summary.money.spendUsd, 10, 'summary spend');
    close(res.body.summary.money.benefitUsd, 151, 'summary benefit');
    close(res.body.summary.money.roi, 14.1, 'summary roi');
    // A worse champion is a loss, not a gain: more error per prediction, valued the same way.
    await post(ctx, ctx.v2, 151, 2.5, p + 10_000);
    const worse = (await ctx.agronomist('GET', '/api/v1/impact/accuracy?tenantId=farm')).body.tenants[0];
    close(worse.current.mae, (151 * 0.5 + 151 * 2.5) / 302, 'current MAE');
    close(worse.money.benefitUsd, (1 - 1.5) * 302 * 2, 'negative benefit');
    close(worse.money.roi, ((1 - 1.5) * 302 * 2 - 10) / 10, 'negative ROI');
  });

  test('bad input: 400 in words; no token 401', async (ctx) => {
    for (const [q, msg] of [['windowDays=0', /windowDays must be between 1 and 365/], ['windowDays=abc', /windowDays must be a whole number/], ['tenantId=NOT%20A%20TENANT', /tenantId: not a tenant id/]] as const) {
      const res = await ctx.agronomist('GET', `/api/v1/impact/accuracy?${q}`);
      assert.is(res.status, 400, res.text);
      assert.is(res.body.error.code, 'BAD_REQUEST');
      assert.match(res.body.error.message, msg);
    }
    const anonymous = client(ctx.sys.app);
    assert.is((await anonymous('GET', '/api/v1/impact/accuracy')).status, 401);
  });

  return test;
}

impactSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined })).run();
if ((await requirePostgres()) && (await requireNats())) impactSuite('Postgres + NATS', () => realServicesEnv('impact', { TOLLGATE_NODE_ID: 'impact-node' })).run();
