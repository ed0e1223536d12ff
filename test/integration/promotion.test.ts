import { and, eq, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alerts, approvals, learningEvents, modelVersions } from '../../db/schema';
import { grantUnlock, installTestCommittee } from '../support/governance';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import { mulberry32 } from '../../control-plane/kernels/canary/sample';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
type Client = ReturnType<typeof client>;
interface Ctx {
  sys: Sys;
  admin: Client;
  manager: Client;
  agronomist: Client;
  champion: string;
  events: string[];
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
const ARTIFACT = (c: string) => c.repeat(64);

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  if (message) assert.match(res.body.error.message, message);
}

async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rand = mulberry32(42);
/** Exponential errors: standard deviation equal to their mean. */
const expo = (mean: number) => -Math.log(1 - rand()) * mean;

async function walk(ctx: Ctx, id: string, states: string[]) {
  for (const to of states) {
    const model = (await ctx.manager('GET', `/api/v1/models/${id}`)).body;
    const res = await ctx.manager('POST', `/api/v1/models/${id}/transitions`, { to, reason: 'test', idempotencyKey: `${id}-${to}`, expectedRevision: model.revision });
    assert.is(res.status, 200, res.text);
  }
}

/** Labelled predictions for one arm, timestamped now (inside the current stage). */
async function post(ctx: Ctx, modelId: string, n: number, errorMean: number, tenantId = 'farm') {
  const now = ctx.sys.clock.now().getTime();
  const events = Array.from({ length: n }, (_, i) => {
    const actual = 3 + rand();
    return {
      idempotencyKey: `ev-${ctx.events.length}-${i}-${modelId.slice(0, 8)}`,
      modelVersionId: modelId,
      ts: new Date(now + i).toISOString(),
      features: { ndvi: rand() },
      prediction: actual + (rand() < 0.5 ? -1 : 1) * expo(errorMean),
      actual,
    };
  });
  ctx.events.push(modelId);
  const before = await storedCount(ctx, tenantId);
  for (let i = 0; i < events.length; i += 2_000) {
    const res = await ctx.manager('POST', `/api/v1/tenants/${tenantId}/events`, { events: events.slice(i, i + 2_000) });
    assert.is(res.status, 200, res.text);
  }
  // Measurements read stored events: wait for the consumer.
  await until(async () => (await storedCount(ctx, tenantId)) >= before + n, `${n} events stored`);
}

async function storedCount(ctx: Ctx, tenantId = 'farm'): Promise<number> {
  const [r] = await ctx.sys.database.db.select({ n: sql<number>`count(*)::int` }).from(learningEvents).where(eq(learningEvents.tenantId, tenantId as TenantId));
  return r!.n;
}

/** The whole audit log, page by page. */
async function auditAll(ctx: Ctx): Promise<Array<{ action: string; subject: string; actor: string }>> {
  const all = [];
  for (let after = 0; ; ) {
    const page = (await ctx.admin('GET', `/api/v1/audit?after=${after}&limit=1000`)).body.entries as Array<{ seq: number; action: string; subject: string; actor: string }>;
    all.push(...page);
    if (page.length < 1000) return all;
    after = page[page.length - 1]!.seq;
  }
}

async function promotion(ctx: Ctx, id: string) {
  return (await ctx.agronomist('GET', `/api/v1/models/${id}/promotion`)).body.promotion;
}

/** Lets the measurement timer fire and waits for the evaluation it leads to. */
async function measure(ctx: Ctx, id: string) {
  const before = (await promotion(ctx, id)).ledger.length;
  ctx.sys.clock.increment(HOUR);
  return until(async () => {
    const p = await promotion(ctx, id);
    return p.ledger.length > before || p.ledger.length === 50 ? p : null;
  }, `an evaluation of ${id}`);
}

function promotionSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`promotion pipeline: ${name}`, {} as Ctx);

  test.before(async (ctx) => {
    const made = await env();
    ctx.cleanup = made.cleanup;
    ctx.sys = await startTestSystem(made.env);
    ctx.events = [];
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    ctx.manager = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' })).body.token);
    ctx.agronomist = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' })).body.token);
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm', stage: 'PILOT' })).status, 201);
    ctx.champion = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('a') })).body.id;
    // The first champion is placed directly (setup only): its own promotion is not under test.
    await ctx.sys.database.db.update(modelVersions).set({ state: 'CHAMPION', canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, ctx.champion as ModelVersionId));
    await ctx.sys.database.db.execute(`update tenants set champion_id = '${ctx.champion}' where id = 'farm'` as never);
    await ctx.sys.routing.reload('farm');
  });
  test.after(async (ctx) => {
    await ctx.sys.dispose();
    await ctx.cleanup();
  });

  test('a better version goes SHADOW → 1 % → 10 % → 50 % → approval → CHAMPION, every step ledgered', async (ctx) => {
    const v2 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v2', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('b') })).body.id;
    await walk(ctx, v2, ['TRAINING', 'VALIDATED', 'SHADOW']);
    const started = await until(() => promotion(ctx, v2), 'the promotion starts on SHADOW');
    assert.is(started.stage, 'shadow');
    assert.equal(started.stages.map((s: { id: string }) => s.id), ['shadow', 'canary-1', 'canary-10', 'canary-50', 'champion']);
    assert.is(started.stages[4].approval, true, 'PILOT: a named approval');

    // SHADOW: three cycles of similar predictions; shadow errors no worse.
    await post(ctx, ctx.champion, 300, 1);
    await post(ctx, v2, 300, 0.8);
    for (let i = 0; i < 3; i++) await measure(ctx, v2);
    await until(async () => (await promotion(ctx, v2)).stage === 'canary-1', 'shadow → canary-1');
    const canary = (await ctx.agronomist('GET', `/api/v1/models/${v2}`)).body;
    assert.is(canary.state, 'CANARY');
    assert.is(canary.canaryTrafficPercent, 1);

    // Each wave: fresh labelled samples, the guard decides PROMOTE.
    for (const [wave, next, traffic] of [['canary-1', 'canary-10', 10], ['canary-10', 'canary-50', 50], ['canary-50', 'champion', null]] as const) {
      const p = await measure(ctx, v2); // under the minimum sample: never a pass
      assert.is(p.stage, wave);
      assert.is(p.evidence.decision, 'CONTINUE', JSON.stringify(p.evidence));
      await post(ctx, ctx.champion, 1_200, 1);
      await post(ctx, v2, 1_200, 0.8);
      const after = await measure(ctx, v2);
      assert.is(after.stage, next, JSON.stringify(after.evidence));
      if (traffic !== null) assert.is((await ctx.agronomist('GET', `/api/v1/models/${v2}`)).body.canaryTrafficPercent, traffic);
    }
    const waiting = await promotion(ctx, v2);
    assert.is(waiting.status, 'awaiting_approval');
    assert.is((await ctx.agronomist('GET', `/api/v1/models/${v2}`)).body.state, 'CANARY', 'nothing bypasses the approval');

    // An AGRONOMIST's approval is refused and moves nothing; a MANAGER's completes it.
    expectError(await ctx.agronomist('POST', `/api/v1/models/${v2}/approvals`, { decision: 'approve', justification: 'looks good' }), 403, 'FORBIDDEN');
    assert.is((await promotion(ctx, v2)).status, 'awaiting_approval');
    expectError(await ctx.manager('POST', `/api/v1/models/${v2}/approvals`, { decision: 'approve' }), 400, 'BAD_REQUEST', /justification/);
    assert.is((await ctx.manager('POST', `/api/v1/models/${v2}/approvals`, { decision: 'approve', justification: 'MAE 20 % lower over three waves' })).status, 201);
    await until(async () => (await ctx.agronomist('GET', `/api/v1/models/${v2}`)).body.state === 'CHAMPION', 'v2 champion');
    assert.is((await ctx.agronomist('GET', `/api/v1/models/${ctx.champion}`)).body.state, 'DEPRECATED');
    assert.is((await promotion(ctx, v2)).status, 'completed');
    await until(async () => ctx.sys.routing.routesOf('farm')?.champion?.id === v2, 'routes follow');
    const audit = await auditAll(ctx);
    const mine = audit.filter((e) => e.subject === `model:${v2}`).map((e) => e.action);
    for (const a of ['promotion.evaluation', 'promotion.advance', 'promotion.approval', 'promotion.complete']) assert.ok(mine.includes(a), `${a} in the audit log`);
    assert.ok(audit.some((e) => e.subject === `model:${v2}` && e.action === 'promotion.approval' && e.actor === 'user:maria'));
    assert.is((await ctx.admin('GET', '/api/v1/audit/verify')).body.ok, true);
    ctx.champion = v2;
  });

  test('a worse canary is rolled back by the breaker: traffic 0, FAILED, P2 with the evidence', async (ctx) => {
    const v3 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v3', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('c') })).body.id;
    await walk(ctx, v3, ['TRAINING', 'VALIDATED', 'SHADOW']);
    await until(() => promotion(ctx, v3), 'promotion started');
    await post(ctx, ctx.champion, 300, 0.8);
    await post(ctx, v3, 300, 0.6); // fine in SHADOW…
    const before = ctx.events.length;
    for (let i = 0; i < 3; i++) await measure(ctx, v3);
    await until(async () => (await promotion(ctx, v3)).stage === 'canary-1', 'canary-1');
    assert.ok(ctx.events.length === before);
    await post(ctx, ctx.champion, 600, 0.8);
    await post(ctx, v3, 600, 1.0); // …25 % worse in the canary
    const p = await measure(ctx, v3);
    assert.is(p.status, 'rolled_back', JSON.stringify(p.evidence));
    const model = await until(async () => {
      const m = (await ctx.agronomist('GET', `/api/v1/models/${v3}`)).body;
      return m.state === 'FAILED' ? m : null;
    }, 'v3 FAILED');
    assert.is(model.canaryTrafficPercent, 0);
    assert.is(model.canaryVerdict, 'FAILED');
    const p2 = await ctx.sys.database.db.select().from(alerts).where(and(eq(alerts.tenantId, 'farm' as TenantId), eq(alerts.kind, 'canary.failed')));
    assert.is(p2.length, 1);
    assert.is(p2[0]!.severity, 'P2');
    assert.ok((p2[0]!.details as { evidence: { relativeDeltaMae: number } }).evidence.relativeDeltaMae > 0.05);
    // The routing table reloads on the transition event, after the commit: wait for it, as for the champion above.
    await until(async () => ctx.sys.routing.routesOf('farm')?.canary === null, 'routes drop the failed canary');
  });

  test('a shadow that fails more than 1 % of its requests is failed (P3) with the evidence', async (ctx) => {
    const v5 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v5', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('9') })).body.id;
    await walk(ctx, v5, ['TRAINING', 'VALIDATED', 'SHADOW']);
    await until(() => promotion(ctx, v5), 'promotion started');
    await post(ctx, ctx.champion, 200, 0.8);
    await post(ctx, v5, 190, 0.8);
    // 10 timeouts out of 200 requests: 5 %.
    const now = ctx.sys.clock.now().getTime();
    const failed = Array.from({ length: 10 }, (_, i) => ({ idempotencyKey: `timeout-${i}`, modelVersionId: v5, ts: new Date(now + i).toISOString(), features: { ndvi: 0.5 }, outcome: 'timeout' }));
    const res = await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: failed });
    assert.equal(res.body, { accepted: 10, duplicates: 0, rejected: [] }, res.text);
    await until(async () => (await storedCount(ctx)) > 0, 'stored');
    await new Promise((r) => setTimeout(r, 300));
    const p = await measure(ctx, v5);
    assert.is(p.status, 'rolled_back', JSON.stringify(p.evidence));
    assert.is(p.evidence.errorRate, 0.05);
    await until(async () => (await ctx.agronomist('GET', `/api/v1/models/${v5}`)).body.state === 'FAILED', 'v5 FAILED');
    const p3 = await ctx.sys.database.db.select().from(alerts).where(and(eq(alerts.tenantId, 'farm' as TenantId), eq(alerts.kind, 'shadow.failed')));
    assert.is(p3.length, 1);
    assert.is(p3[0]!.severity, 'P3');
  });

  test('the kill switch: MANAGER only, at once, FAILED and ledgered; unknown versions are 404', async (ctx) => {
    const v4 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v4', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('d') })).body.id;
    await walk(ctx, v4, ['TRAINING', 'VALIDATED', 'SHADOW']);
    await until(() => promotion(ctx, v4), 'promotion started');
    expectError(await ctx.agronomist('POST', `/api/v1/models/${v4}/promotion/kill`, { reason: 'x' }), 403, 'FORBIDDEN');
    expectError(await ctx.manager('POST', `/api/v1/models/${v4}/promotion/kill`, {}), 400, 'BAD_REQUEST', /reason/);
    expectError(await ctx.manager('POST', '/api/v1/models/00000000-0000-4000-8000-000000000000/promotion/kill', { reason: 'x' }), 404, 'NOT_FOUND');
    const killed = await ctx.manager('POST', `/api/v1/models/${v4}/promotion/kill`, { reason: 'field reports look wrong' });
    assert.is(killed.status, 200, killed.text);
    assert.is(killed.body.status, 'killed');
    await until(async () => (await ctx.agronomist('GET', `/api/v1/models/${v4}`)).body.state === 'FAILED', 'v4 FAILED');
    const audit = await auditAll(ctx);
    assert.ok(audit.some((e) => e.subject === `model:${v4}` && e.action === 'promotion.kill' && e.actor === 'user:maria'));
    // A killed promotion stays killed.
    expectError(await ctx.agronomist('POST', `/api/v1/models/${v4}/promotion/resume`, { reason: 'x' }), 403, 'FORBIDDEN');
    assert.is((await ctx.manager('POST', `/api/v1/models/${v4}/promotion/resume`, { reason: 'x' })).body.status, 'killed');
  });

  test('CONTROLLED_AUTONOMY: waves capped by the risk matrix (a governance-locked change), no approval, at most one automatic promotion per period', async (ctx) => {
    const committee = await installTestCommittee(ctx.admin);
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'auto', name: 'Auto', stage: 'PILOT' })).status, 201);
    const stageUnlock = await grantUnlock(ctx.admin, committee, 'tenant.stage.controlled-autonomy', { tenantId: 'auto', stage: 'CONTROLLED_AUTONOMY' });
    assert.is((await ctx.admin('PUT', '/api/v1/tenants/auto/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'criteria met', unlockId: stageUnlock })).status, 200);
    const riskMatrix = { maxTrafficPercent: 10, maxRelativeMaeDelta: 0, minDaysBetweenPromotions: 7 };
    expectError(await ctx.admin('PUT', '/api/v1/tenants/auto/risk-matrix', { riskMatrix, justification: 'cap at 10 %' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    expectError(await ctx.manager('PUT', '/api/v1/tenants/auto/risk-matrix', { riskMatrix: { maxTrafficPercent: 500 }, justification: 'x' }), 400, 'BAD_REQUEST', /maxTrafficPercent/);
    const unlockId = await grantUnlock(ctx.admin, committee, 'tenant.risk-matrix.change', { tenantId: 'auto', riskMatrix });
    const set = await ctx.manager('PUT', '/api/v1/tenants/auto/risk-matrix', { riskMatrix, justification: 'cap at 10 %', unlockId });
    assert.is(set.status, 200, set.text);
    assert.equal(set.body.riskMatrix, riskMatrix);

    const v1 = (await ctx.manager('POST', '/api/v1/tenants/auto/models', { label: 'a1', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('e') })).body.id;
    await ctx.sys.database.db.update(modelVersions).set({ state: 'CHAMPION', canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, v1 as ModelVersionId));
    await ctx.sys.database.db.execute(`update tenants set champion_id = '${v1}' where id = 'auto'` as never);
    const v2 = (await ctx.manager('POST', '/api/v1/tenants/auto/models', { label: 'a2', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('f') })).body.id;
    await walk(ctx, v2, ['TRAINING', 'VALIDATED', 'SHADOW']);
    const p = await until(() => promotion(ctx, v2), 'promotion started');
    assert.equal(p.stages.map((st: { id: string }) => st.id), ['shadow', 'canary-1', 'canary-10', 'champion'], 'the 50 % wave is above the cap');
    assert.is(p.stages[3].approval, false);
    await post(ctx, v1, 300, 1, 'auto');
    await post(ctx, v2, 300, 0.8, 'auto');
    for (let i = 0; i < 3; i++) await measure(ctx, v2);
    for (const next of ['canary-10', 'champion']) {
      await post(ctx, v1, 1_200, 1, 'auto');
      await post(ctx, v2, 1_200, 0.8, 'auto');
      const after = await measure(ctx, v2);
      assert.is(after.stage, next, JSON.stringify(after.evidence));
    }
    const done = await measure(ctx, v2); // the rate gate: no automatic promotion yet, so it passes
    assert.is(done.status, 'completed', JSON.stringify(done.evidence));
    await until(async () => (await ctx.agronomist('GET', `/api/v1/models/${v2}`)).body.state === 'CHAMPION', 'promoted without an approval');
    assert.is((await ctx.sys.database.db.select().from(approvals).where(eq(approvals.modelVersionId, v2 as ModelVersionId))).length, 0);
  });

  return test;
}

promotionSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined })).run();
if ((await requirePostgres()) && (await requireNats())) promotionSuite('Postgres + NATS', () => realServicesEnv('promotion', { TOLLGATE_NODE_ID: 'promotion-node' })).run();
