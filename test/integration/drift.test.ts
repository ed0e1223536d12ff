import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, fromBase64Url } from '../../control-plane/audit/format';
import { alerts, driftReports, modelVersions, tenants } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';
import { grantUnlock, installTestCommittee, type TestCommittee } from '../support/governance';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  admin: ReturnType<typeof client>;
  manager: ReturnType<typeof client>;
  agronomist: ReturnType<typeof client>;
  modelId: string;
  breaches: unknown[];
  reports: unknown[];
  days: string[];
  committee: TestCommittee;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  if (message) assert.match(res.body.error.message, message);
}

async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const uniform = (i: number) => i % 100;
const shifted = (i: number) => 60 + (i % 40);

function driftSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`drift window: ${name}`, {} as Ctx);
  let n = 0;
  const events = (dayStart: number, count: number, value: (i: number) => number, modelId: string) =>
    Array.from({ length: count }, (_, i) => ({
      idempotencyKey: `e-${++n}`,
      modelVersionId: modelId,
      ts: new Date(dayStart + 10 * HOUR + i * 1000).toISOString(),
      features: { ndvi: value(i) / 100, temp: 20 + (i % 7) },
      prediction: 3 + (i % 5) / 10,
      actual: 3,
    }));

  /** Moves the clock to noon of the next UTC day, firing the close timer of the day left. */
  async function nextDay(ctx: Ctx) {
    const now = ctx.sys.clock.now().getTime();
    ctx.sys.clock.increment(Math.floor(now / DAY) * DAY + DAY + 12 * HOUR - now);
  }

  async function postDay(ctx: Ctx, value: (i: number) => number, count = 300) {
    const start = Math.floor(ctx.sys.clock.now().getTime() / DAY) * DAY;
    const day = dayOf(start);
    const res = await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: events(start, count, value, ctx.modelId) });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.accepted, count);
    await eventually(async () => (await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body?.window?.open?.[day]?.n === count, `live window holds ${day}`);
    ctx.days.push(day);
    return day;
  }

  async function closedReport(ctx: Ctx, day: string) {
    return eventually(async () => {
      const r = await ctx.agronomist('GET', `/api/v1/tenants/farm/drift/reports/${day}`);
      return r.status === 200 ? r.body : null;
    }, `report of ${day}`);
  }

  test.before(async (ctx) => {
    const made = await env();
    ctx.sys = await startTestSystem(made.env);
    ctx.cleanup = made.cleanup;
    ctx.days = [];
    // Noon, so that a day's events lie in the past of the clock.
    const now = ctx.sys.clock.now().getTime();
    ctx.sys.clock.increment(Math.floor(now / DAY) * DAY + DAY + 12 * HOUR - now);
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    const m = await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' });
    ctx.manager = client(ctx.sys.app, m.body.token);
    const a = await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' });
    ctx.agronomist = client(ctx.sys.app, a.body.token);
    ctx.committee = await installTestCommittee(ctx.admin);
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm', stage: 'PILOT' })).status, 201);
    ctx.modelId = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi,temp' })).body.id;
    ctx.breaches = [];
    ctx.reports = [];
    const prefix = made.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg';
    ctx.sys.bus.subscribe(`${prefix}.evt.farm.drift.breach`, (msg) => ctx.breaches.push(JSON.parse(new TextDecoder().decode(msg.data))));
    ctx.sys.bus.subscribe(`${prefix}.evt.farm.drift.report`, (msg) => ctx.reports.push(JSON.parse(new TextDecoder().decode(msg.data))));
  });
  test.after(async (ctx) => {
    await ctx.sys.dispose();
    await ctx.cleanup();
  });

  test('a first day becomes the baseline; its report scores 0 and is signed', async (ctx) => {
    const day = await postDay(ctx, uniform);
    await nextDay(ctx);
    const stored = await closedReport(ctx, day);
    const r = stored.report;
    assert.is(r.day, day);
    assert.is(r.n, 300);
    assert.ok(r.baseline && r.baseline.n === 300, 'the baseline was taken from the first day');
    assert.ok(Math.abs(r.score) < 1e-12, `score ${r.score}`);
    assert.equal(Object.keys(r.features).sort(), ['ndvi', 'temp']);
    assert.is(r.models[ctx.modelId].n, 300);
    assert.is(r.labelShare, 1);
    // The digest is SHA-256 of the canonical body; the signature verifies with the node key.
    const digest = createHash('sha256').update(canonicalJson(r)).digest();
    assert.is(stored.digest, digest.toString('hex'));
    assert.is(stored.kid, ctx.sys.signer.kid);
    assert.ok(ctx.sys.signer.verify(digest, fromBase64Url(stored.signature)), 'signature verifies');
    const tampered = createHash('sha256').update(canonicalJson({ ...r, score: 1 })).digest();
    assert.not.ok(ctx.sys.signer.verify(tampered, fromBase64Url(stored.signature)));
  });

  test('2 critical days then a normal one: no breach', async (ctx) => {
    for (const value of [shifted, shifted, uniform]) {
      const day = await postDay(ctx, value);
      await nextDay(ctx);
      await closedReport(ctx, day);
    }
    const w = (await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body;
    assert.equal(w.items.slice(0, 3).map((i: { report: { streak: number } }) => i.report.streak), [0, 2, 1]);
    assert.ok(w.items[1].report.score > 0.25, 'the shifted days are critical');
    assert.is(w.window.breachActive, false);
    assert.is(ctx.breaches.length, 0);
  });

  test('3 consecutive critical days: breach, P2 alert, drift.breach event, audited', async (ctx) => {
    let last = '';
    for (let i = 0; i < 3; i++) {
      last = await postDay(ctx, shifted);
      await nextDay(ctx);
      await closedReport(ctx, last);
    }
    const stored = await closedReport(ctx, last);
    assert.is(stored.report.streak, 3);
    assert.is(stored.report.breach, true);
    assert.is(stored.report.breachStarted, true);
    await eventually(async () => ctx.breaches.length === 1, 'drift.breach event');
    const breach = ctx.breaches[0] as Record<string, unknown>;
    assert.equal(breach, { tenantId: 'farm', modelVersionId: ctx.modelId, day: last, score: stored.report.score, driftScore: stored.report.driftScore, reportId: stored.id });
    const rows = await ctx.sys.database.db.select().from(alerts).where(eq(alerts.tenantId, 'farm' as TenantId));
    assert.is(rows.length, 1);
    assert.is(rows[0]!.severity, 'P2');
    assert.is(rows[0]!.kind, 'drift.critical');
    assert.match(rows[0]!.message, /3 consecutive days/);
    const audit = (await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; subject: string }>;
    assert.ok(audit.some((e) => e.action === 'drift.breach' && e.subject === 'tenant:farm'));
    assert.ok(audit.some((e) => e.action === 'drift.baseline.set'));
    assert.ok(audit.filter((e) => e.action === 'drift.report').length >= 4);
    assert.is((await ctx.admin('GET', '/api/v1/audit/verify')).body.ok, true);
    const metrics = await (await ctx.sys.app.request('/metrics')).text();
    assert.match(metrics, /tollgate_drift_detection_latency_seconds_count 1\b/);
    assert.match(metrics, /tollgate_drift_score\{tenant="farm"\} [0-9.]+/);
    assert.match(metrics, /tollgate_drift_breaching_tenants 1\b/);
  });

  test('reports are immutable in the database and one per tenant and day', async (ctx) => {
    const db = ctx.sys.database.db;
    let failed = false;
    try {
      await db.update(driftReports).set({ breach: false }).where(eq(driftReports.tenantId, 'farm' as TenantId));
    } catch {
      failed = true;
    }
    assert.ok(failed, 'UPDATE refused');
    failed = false;
    try {
      await db.delete(driftReports).where(eq(driftReports.tenantId, 'farm' as TenantId));
    } catch {
      failed = true;
    }
    assert.ok(failed, 'DELETE refused');
    const [{ n }] = (await db.select({ n: sql<number>`count(*)::int` }).from(driftReports).where(eq(driftReports.tenantId, 'farm' as TenantId))) as [{ n: number }];
    assert.is(n, ctx.days.length);
    assert.is(new Set(ctx.days).size, ctx.days.length);
  });

  test('GET drift: history, paging, roles, unknown tenants and bad parameters', async (ctx) => {
    const all = await ctx.agronomist('GET', '/api/v1/tenants/farm/drift');
    assert.is(all.status, 200);
    assert.is(all.body.latest.day, ctx.days[ctx.days.length - 1]);
    assert.is(all.body.window.history.length, ctx.days.length);
    const page = await ctx.agronomist('GET', '/api/v1/tenants/farm/drift?limit=2');
    assert.is(page.body.items.length, 2);
    const rest = await ctx.agronomist('GET', `/api/v1/tenants/farm/drift?limit=100&before=${page.body.next}`);
    assert.is(rest.body.items.length, ctx.days.length - 2);
    assert.is(rest.body.latest, null);
    expectError(await ctx.agronomist('GET', '/api/v1/tenants/nope/drift'), 404, 'NOT_FOUND');
    expectError(await ctx.agronomist('GET', '/api/v1/tenants/farm/drift?limit=0'), 400, 'BAD_REQUEST', /limit/);
    expectError(await ctx.agronomist('GET', '/api/v1/tenants/farm/drift?before=yesterday'), 400, 'BAD_REQUEST', /before/);
    expectError(await ctx.agronomist('GET', '/api/v1/tenants/farm/drift/reports/2020-01-01'), 404, 'NOT_FOUND');
    expectError(await client(ctx.sys.app)('GET', '/api/v1/tenants/farm/drift'), 401, 'UNAUTHENTICATED');
  });

  test('baseline reset: ADMIN with a governance unlock only (refusals audited), validated, starts the run over', async (ctx) => {
    // Today's events give the new window something to take.
    await postDay(ctx, shifted, 200);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/baseline/reset', { reason: 'season changed' }), 403, 'FORBIDDEN');
    expectError(await ctx.agronomist('POST', '/api/v1/tenants/farm/baseline/reset', { reason: 'x' }), 403, 'FORBIDDEN');
    expectError(await ctx.admin('POST', '/api/v1/tenants/farm/baseline/reset', {}), 400, 'BAD_REQUEST', /reason/);
    expectError(await ctx.admin('POST', '/api/v1/tenants/farm/baseline/reset', { reason: 'x', extra: 1 }), 400, 'BAD_REQUEST', /extra/);
    expectError(await ctx.admin('POST', '/api/v1/tenants/farm/baseline/reset', '{"reason":'), 400, 'BAD_REQUEST', /malformed JSON/);
    expectError(await ctx.admin('POST', '/api/v1/tenants/nope/baseline/reset', { reason: 'x' }), 404, 'NOT_FOUND');
    const before = (await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window;
    assert.is(before.breachActive, true);
    // Governance-locked: an ADMIN alone cannot, nor with an unlock for other params.
    expectError(await ctx.admin('POST', '/api/v1/tenants/farm/baseline/reset', { reason: 'season changed', days: 2 }), 403, 'GOVERNANCE_UNLOCK_REQUIRED', /propose it/);
    const other = await grantUnlock(ctx.admin, ctx.committee, 'baseline.reset', { tenantId: 'farm', days: 3 });
    expectError(await ctx.admin('POST', '/api/v1/tenants/farm/baseline/reset', { reason: 'season changed', days: 2, unlockId: other }), 403, 'GOVERNANCE_UNLOCK_INVALID', /other params/);
    assert.is((await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window.breachActive, true, 'nothing changed');
    const unlockId = await grantUnlock(ctx.admin, ctx.committee, 'baseline.reset', { tenantId: 'farm', days: 2 });
    const res = await ctx.admin('POST', '/api/v1/tenants/farm/baseline/reset', { reason: 'season changed', days: 2, unlockId });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.by, 'user:bootstrap');
    assert.is(res.body.reason, 'season changed');
    assert.is(res.body.n, 500, 'yesterday (300) and today (200)');
    const after = (await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window;
    assert.is(after.breachActive, false);
    assert.is(after.streak, 0);
    assert.is(after.baseline.reason, 'season changed');
    const audit = (await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; actor: string; payload: Record<string, unknown> }>;
    assert.ok(audit.some((e) => e.action === 'drift.baseline.reset' && e.actor === 'user:bootstrap'));
    assert.ok(audit.some((e) => e.action === 'auth.refused' && e.actor === 'user:maria'));
    assert.ok(audit.some((e) => e.action === 'governance.gate.refused'));
    expectError(await ctx.admin('POST', '/api/v1/tenants/farm/baseline/reset', { reason: 'again', days: 2, unlockId }), 403, 'GOVERNANCE_UNLOCK_INVALID', /already been used/);
    // Against the new (shifted) baseline, a shifted day is normal again.
    const day = ctx.days[ctx.days.length - 1]!;
    await nextDay(ctx);
    const r = (await closedReport(ctx, day)).report;
    assert.ok(r.score < 0.1, `score against the new baseline: ${r.score}`);
    assert.is(r.streak, 0);
  });

  test('a delayed label joins its prediction: one observation, one labelled error', async (ctx) => {
    const start = Math.floor(ctx.sys.clock.now().getTime() / DAY) * DAY;
    const day = dayOf(start);
    const base = { modelVersionId: ctx.modelId, ts: new Date(start + 9 * HOUR).toISOString(), features: { ndvi: 0.7, temp: 21 }, prediction: 4, predictionId: 'p-late' };
    assert.is((await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ ...base, idempotencyKey: 'pred-1' }] })).body.accepted, 1);
    await eventually(async () => (await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window.open[day]?.n === 1, 'prediction observed');
    assert.is((await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ ...base, idempotencyKey: 'label-1', actual: 3 }] })).body.accepted, 1);
    await eventually(async () => (await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window.open[day]?.labelled === 1, 'label joined');
    assert.is((await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window.open[day].n, 1);
    ctx.days.push(day);
    await nextDay(ctx);
    const r = (await closedReport(ctx, day)).report;
    assert.is(r.n, 1, 'the label row is not a second observation');
    assert.equal(r.models[ctx.modelId], { ...r.models[ctx.modelId], n: 1, mae: 1, bias: 1 });
  });

  test('thresholds per tenant: ADMIN sets them (audited); bad values refused, nothing changed', async (ctx) => {
    expectError(await ctx.manager('PUT', '/api/v1/tenants/farm/drift/config', { psiCritical: 0.5 }), 403, 'FORBIDDEN');
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', {}), 400, 'BAD_REQUEST', /at least one/);
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { psiCritical: -1 }), 400, 'BAD_REQUEST', /psiCritical/);
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { psiWarn: 'high' }), 400, 'BAD_REQUEST', /psiWarn/);
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { psiWarn: 0.3 }), 400, 'BAD_REQUEST', /below psiCritical/);
    const before = (await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window.config;
    assert.equal(before, { psiWarn: 0.1, psiCritical: 0.25, bins: 10, windowDays: 7, breachDays: 3, closeGraceMs: 900_000, minBaselineEvents: 100, rollbackRmse: null, rollbackBias: null });
    const res = await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { psiWarn: 0.2, psiCritical: 0.4 });
    assert.is(res.status, 200, res.text);
    assert.equal(res.body, { ...before, psiWarn: 0.2, psiCritical: 0.4 });
    assert.equal((await ctx.agronomist('GET', '/api/v1/tenants/farm/drift')).body.window.config, res.body);
    const audit = (await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; payload: { after?: { psiCritical: number } } }>;
    assert.ok(audit.some((e) => e.action === 'drift.config' && e.payload.after?.psiCritical === 0.4));
    assert.is((await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { psiWarn: 0.1, psiCritical: 0.25 })).status, 200);
  });

  test('a day with no events closes with a null score and ends the run', async (ctx) => {
    const day = dayOf(ctx.sys.clock.now().getTime());
    await nextDay(ctx);
    const r = (await closedReport(ctx, day)).report;
    assert.is(r.n, 0);
    assert.is(r.score, null);
    assert.is(r.level, 'none');
    const rows = await ctx.sys.database.db.select().from(driftReports).where(and(eq(driftReports.tenantId, 'farm' as TenantId), eq(driftReports.day, day)));
    assert.is(rows.length, 1);
  });

  test('a champion whose RMSE passes the tenant threshold on a closed day is rolled back', async (ctx) => {
    const db = ctx.sys.database.db;
    const v0 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v0', owner: 'ana', featureSignature: 'ndvi,temp', artifactSha256: 'f'.repeat(64) })).body.id;
    await db.update(modelVersions).set({ state: 'DEPRECATED' }).where(eq(modelVersions.id, v0));
    await db.update(modelVersions).set({ state: 'CHAMPION', previousStableId: v0, artifactSha256: 'e'.repeat(64) }).where(eq(modelVersions.id, ctx.modelId as ModelVersionId));
    await db.update(tenants).set({ championId: ctx.modelId as ModelVersionId }).where(eq(tenants.id, 'farm' as TenantId));
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { rollbackRmse: -1 }), 400, 'BAD_REQUEST', /rollbackRmse/);
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { rollbackRmse: 0.1 }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    const unlockId = await grantUnlock(ctx.admin, ctx.committee, 'tenant.rollback-thresholds.change', { tenantId: 'farm', thresholds: { rollbackRmse: 0.1 } });
    assert.is((await ctx.admin('PUT', '/api/v1/tenants/farm/drift/config', { rollbackRmse: 0.1, unlockId })).status, 200);
    const day = await postDay(ctx, uniform); // predictions 3.0–3.4 against 3: RMSE ≈ 0.245
    await nextDay(ctx);
    const r = (await closedReport(ctx, day)).report;
    assert.ok(r.models[ctx.modelId].rmse > 0.1);
    assert.equal(r.rollback, { rmse: 0.1, bias: null });
    const tenant = await eventually(async () => {
      const t = (await ctx.agronomist('GET', '/api/v1/tenants/farm')).body;
      return t.championId === v0 ? t : null;
    }, 'automatic rollback');
    assert.is(tenant.forensicLock, true);
    assert.is((await ctx.agronomist('GET', `/api/v1/models/${ctx.modelId}`)).body.state, 'ROLLED_BACK');
    const audit = (await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; actor: string; payload: { trigger?: string } }>;
    const entry = audit.find((e) => e.action === 'tenant.rollback');
    assert.ok(entry, 'audited');
    assert.is(entry!.actor, 'system:drift');
    assert.is(entry!.payload.trigger, `drift-report:${day}`);
  });

  return test;
}

driftSuite('embedded (in-process bus, PGlite)', async () => ({ env: {}, cleanup: async () => undefined })).run();

const pg = await requirePostgres();
const nats = await requireNats();
if (pg && nats) {
  driftSuite('Postgres + NATS/JetStream', () => realServicesEnv('drift', { TOLLGATE_NODE_ID: 'drift-node' })).run();
}
