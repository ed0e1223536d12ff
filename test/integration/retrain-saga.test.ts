import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RetrainState } from '../../actors/retrain/behaviour';
import { DEFAULT_RETRAIN_POLICY } from '../../actors/retrain/safeguards';
import { verifyDigest } from '../../control-plane/retrain/artifact-store';
import { CommandTrainer } from '../../control-plane/retrain/trainers/command-trainer';
import { decodeJson } from '../../control-plane/actor-host/protocol';
import { rowsOf } from '../../db/rows';
import { learningEvents, modelArtifacts, modelVersions, tenants } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  assert.type(res.body.error.message, 'string');
  if (message) assert.match(res.body.error.message, message);
}

/** Learning events whose actual = 2a - 3b + 1; the serving model (prediction) is off by a constant. */
async function seedEvents(sys: Sys, tenantId: string, n = 120) {
  const now = sys.clock.now().getTime();
  await sys.database.db.insert(learningEvents).values(
    Array.from({ length: n }, (_, i) => {
      const a = Math.sin(i) * 5;
      const b = Math.cos(i * 0.7) * 3;
      const actual = 2 * a - 3 * b + 1;
      return {
        tenantId: tenantId as TenantId,
        idempotencyKey: `${tenantId}-e${i}`,
        features: { a, b },
        prediction: actual + 1.5,
        actual,
        segment: i % 2 ? 'north' : 'south',
        occurredAt: new Date(now - (n - i) * 3_600_000),
      };
    }),
  );
}

async function setup(sys: Sys, tenantId: string, stage = 'PILOT') {
  const admin = client(sys.app, BOOTSTRAP_TOKEN);
  assert.is((await admin('POST', '/api/v1/tenants', { id: tenantId, name: tenantId, stage })).status, 201);
  const m = await admin('POST', `/api/v1/tenants/${tenantId}/models`, { label: 'v1', owner: 'ada', featureSignature: `${tenantId}-sig` });
  assert.is(m.status, 201, m.text);
  await seedEvents(sys, tenantId);
  return m.body.id as string;
}

async function stateOf(sys: Sys, tenantId: string): Promise<RetrainState | null> {
  const [row] = rowsOf<{ state: RetrainState }>(await sys.database.db.execute(sql`select state from actor_state where kind = 'retrain' and id = ${tenantId}`));
  return row?.state ?? null;
}

/** Waits (real time) until the tenant has `n` finished sagas. */
async function finished(sys: Sys, tenantId: string, n: number, timeoutMs = 30_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await stateOf(sys, tenantId);
    if (s && !s.saga && s.history.length >= n) {
      await sys.retrain.runner.idle();
      await sys.host.idle();
      return s.history[0]!;
    }
    if (Date.now() - t0 > timeoutMs) assert.unreachable(`saga of ${tenantId} did not finish: ${JSON.stringify(s?.saga)}`);
    await sleep(25);
  }
}

async function waitForStep(sys: Sys, tenantId: string, step: string, timeoutMs = 20_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await stateOf(sys, tenantId);
    if (s?.saga?.step === step) return s.saga;
    if (Date.now() - t0 > timeoutMs) assert.unreachable(`saga of ${tenantId} never reached ${step}: ${JSON.stringify(s?.saga)}`);
    await sleep(20);
  }
}

async function auditActions(sys: Sys, subject: string): Promise<Array<{ action: string; payload: Record<string, unknown> }>> {
  await sys.audit.flush();
  return rowsOf(await sys.database.db.execute(sql`select action, payload from audit_log where subject = ${subject} order by seq`));
}

interface Ctx {
  sys: Sys;
  manager: ReturnType<typeof client>;
  admin: ReturnType<typeof client>;
  agronomist: ReturnType<typeof client>;
  anon: ReturnType<typeof client>;
  dir: string;
}

const test = suite<Ctx>('retrain saga (embedded)', {} as Ctx);

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tg-retrain-saga-'));
  ctx.sys = await startTestSystem();
  ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
  ctx.anon = client(ctx.sys.app);
  ctx.manager = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' })).body.token);
  ctx.agronomist = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' })).body.token);
});
test.after(async (ctx) => {
  await ctx.sys.dispose();
  rmSync(ctx.dir, { recursive: true, force: true });
});

test('manual retrain: 202 → snapshot → DRAFT → TRAINING → VALIDATED with a signed artifact; progress published; audited', async (ctx) => {
  const parent = await setup(ctx.sys, 'acme');
  const progress: Array<{ step: string; percent: number }> = [];
  const sub = ctx.sys.bus.subscribe('tg.evt.acme.retrain.progress', (m) => progress.push(decodeJson(m.data) as never));
  const res = await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: 'new season' });
  assert.is(res.status, 202, res.text);
  assert.match(res.body.sagaId, /^[0-9a-f-]{36}$/);
  assert.is(res.body.status, 'RUNNING');
  const saga = await finished(ctx.sys, 'acme', 1);
  sub.unsubscribe();
  assert.is(saga.step, 'validated', JSON.stringify(saga.error));
  assert.is(saga.sagaId, res.body.sagaId);
  assert.ok(saga.evaluation?.passed);
  const [model] = await ctx.sys.database.db.select().from(modelVersions).where(eq(modelVersions.id, saga.modelVersionId! as never));
  assert.is(model!.state, 'VALIDATED');
  assert.is(model!.parentId, parent);
  assert.is(model!.featureSignature, 'acme-sig');
  assert.is(model!.artifactSha256, saga.artifactSha256);
  const [art] = await ctx.sys.database.db.select().from(modelArtifacts).where(eq(modelArtifacts.sha256, saga.artifactSha256!));
  assert.ok(verifyDigest(ctx.sys.signer, art!.sha256, art!.signature));
  assert.ok(existsSync(ctx.sys.retrain.artifacts.pathOf('acme', art!.sha256)));
  assert.is(saga.rowCount, 120);
  assert.equal(
    progress.map((p) => p.step),
    ['starting', 'snapshotting', 'registering', 'training', 'validated'],
  );
  assert.is(progress.at(-1)!.percent, 100);
  const actions = (await auditActions(ctx.sys, 'tenant:acme')).map((a) => a.action);
  for (const a of ['retrain.started', 'retrain.finished']) assert.ok(actions.includes(a), a);
  const status = await ctx.agronomist('GET', '/api/v1/tenants/acme/retrain');
  assert.is(status.status, 200);
  assert.is(status.body.saga, null);
  assert.is(status.body.history[0].sagaId, saga.sagaId);
  assert.is(status.body.history[0].lease.owner, undefined, 'the lease owner id is not exposed');
  assert.is(status.body.history[0].lease.token, saga.lease!.token);
  assert.is(status.body.safeguards.rateLimit.days, 14);
});

test('a second request within 14 days → 409 RETRAIN_RATE_LIMIT, audited, visible in the status; lifts after 14 days', async (ctx) => {
  const again = await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: 'again' });
  expectError(again, 409, 'RETRAIN_RATE_LIMIT', /14 days/);
  // Replaying the identical request is the same refusal, not a second job.
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: 'again' }), 409, 'RETRAIN_RATE_LIMIT');
  const refused = (await auditActions(ctx.sys, 'tenant:acme')).filter((a) => a.action === 'retrain.refused');
  assert.is(refused.length, 2);
  assert.is(refused[0]!.payload.code, 'RETRAIN_RATE_LIMIT');
  const status = await ctx.manager('GET', '/api/v1/tenants/acme/retrain');
  assert.is(status.body.safeguards.rateLimit.lastRefusal.code, 'RETRAIN_RATE_LIMIT');
  ctx.sys.clock.increment(14 * DAY);
  const later = await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: 'two weeks on' });
  assert.is(later.status, 202, later.text);
  await finished(ctx.sys, 'acme', 2);
});

test('cooldown after a rollback → 409 RETRAIN_COOLDOWN; forensic lock → 409 LOCKED; both audited', async (ctx) => {
  await setup(ctx.sys, 'globex');
  await ctx.sys.retrain.store.blacklistAfterRollback('globex', 'globex-sig', 'rollback of v1');
  expectError(await ctx.manager('POST', '/api/v1/tenants/globex/retrain', { reason: 'x' }), 409, 'RETRAIN_COOLDOWN', /globex-sig/);
  await ctx.sys.database.db.update(tenants).set({ forensicLock: true, forensicLockReason: 'incident 42' }).where(eq(tenants.id, 'globex' as TenantId));
  expectError(await ctx.manager('POST', '/api/v1/tenants/globex/retrain', { reason: 'x' }), 409, 'LOCKED', /incident 42/);
  await ctx.sys.database.db.update(tenants).set({ forensicLock: false, forensicLockReason: null }).where(eq(tenants.id, 'globex' as TenantId));
  ctx.sys.clock.increment(7 * DAY);
  const ok = await ctx.manager('POST', '/api/v1/tenants/globex/retrain', { reason: 'cooldown over' });
  assert.is(ok.status, 202, ok.text);
  await finished(ctx.sys, 'globex', 1);
  const codes = (await auditActions(ctx.sys, 'tenant:globex')).filter((a) => a.action === 'retrain.refused').map((a) => a.payload.code);
  assert.equal(codes, ['RETRAIN_COOLDOWN', 'LOCKED']);
  const blacklisted = (await auditActions(ctx.sys, 'tenant:globex')).filter((a) => a.action === 'retrain.blacklisted');
  assert.is(blacklisted.length, 1);
});

test('the endpoints refuse bad input: 401, 403 (audited), 400, 413, 404', async (ctx) => {
  expectError(await ctx.anon('POST', '/api/v1/tenants/acme/retrain', { reason: 'x' }), 401, 'UNAUTHENTICATED');
  expectError(await ctx.anon('GET', '/api/v1/tenants/acme/retrain'), 401, 'UNAUTHENTICATED');
  expectError(await ctx.agronomist('POST', '/api/v1/tenants/acme/retrain', { reason: 'x' }), 403, 'FORBIDDEN', /MANAGER/);
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain/reset', { reason: 'x' }), 403, 'FORBIDDEN', /ADMIN/);
  const authRefusals = (await auditActions(ctx.sys, 'tenant:acme')).filter((a) => a.action === 'auth.refused');
  assert.is(authRefusals.length, 2);
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain', '{"reason": '), 400, 'BAD_REQUEST', /malformed JSON/);
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: 'x', force: true }), 400, 'BAD_REQUEST', /force/);
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: '  ' }), 400, 'BAD_REQUEST', /reason/);
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain', {}), 400, 'BAD_REQUEST', /reason/);
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: 'x'.repeat(2001) }), 400, 'BAD_REQUEST', /reason/);
  expectError(await ctx.manager('POST', '/api/v1/tenants/acme/retrain', { reason: 'x'.repeat(300 * 1024) }), 413, 'PAYLOAD_TOO_LARGE');
  expectError(await ctx.manager('POST', '/api/v1/tenants/nope/retrain', { reason: 'x' }), 404, 'NOT_FOUND');
  expectError(await ctx.manager('GET', '/api/v1/tenants/nope/retrain'), 404, 'NOT_FOUND');
  expectError(await ctx.manager('GET', '/api/v1/tenants/Bad_Id/retrain'), 404, 'NOT_FOUND');
});

test('a drift.breach event starts a retrain (no HTTP involved)', async (ctx) => {
  const model = await setup(ctx.sys, 'initech');
  const data = { tenantId: 'initech', modelVersionId: model, day: '2026-01-09', score: 0.31, reportId: 'r-1' };
  ctx.sys.bus.publish('tg.evt.initech.drift.breach', new TextEncoder().encode(JSON.stringify(data)));
  const saga = await finished(ctx.sys, 'initech', 1);
  assert.is(saga.trigger, 'breach');
  assert.match(saga.reason, /score 0.31/);
  assert.is(saga.requestedBy, 'system:drift');
});

test('a failing trainer: version FAILED with the log tail; three in a row open the breaker → 409 RETRAIN_CIRCUIT_OPEN + alert; ADMIN reset lifts it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-fail-trainer-'));
  const script = join(dir, 'fail.mjs');
  writeFileSync(script, `console.error('boom: out of memory'); process.exit(2);`);
  const sys = await startTestSystem({}, { retrain: { trainer: new CommandTrainer({ command: process.execPath, args: [script] }) } });
  try {
    const admin = client(sys.app, BOOTSTRAP_TOKEN);
    await setup(sys, 'hooli');
    for (let i = 1; i <= 3; i++) {
      const r = await admin('POST', '/api/v1/tenants/hooli/retrain', { reason: `try ${i}` });
      assert.is(r.status, 202, r.text);
      const saga = await finished(sys, 'hooli', i);
      assert.is(saga.step, 'failed');
      assert.match(saga.error!.message, /boom: out of memory/);
      const [m] = await sys.database.db.select().from(modelVersions).where(eq(modelVersions.id, saga.modelVersionId! as never));
      assert.is(m!.state, 'FAILED');
      sys.clock.increment(14 * DAY);
    }
    expectError(await admin('POST', '/api/v1/tenants/hooli/retrain', { reason: 'again' }), 409, 'RETRAIN_CIRCUIT_OPEN', /ADMIN/);
    const alerts = rowsOf<{ kind: string; severity: string }>(await sys.database.db.execute(sql`select kind, severity from alerts where tenant_id = 'hooli'`));
    assert.equal(alerts, [{ kind: 'retrain.circuit-open', severity: 'P3' }]);
    const status = await admin('GET', '/api/v1/tenants/hooli/retrain');
    assert.is(status.body.safeguards.circuitBreaker.state, 'OPEN');
    assert.is(status.body.safeguards.circuitBreaker.lastRefusal.code, 'RETRAIN_CIRCUIT_OPEN');
    expectError(await admin('POST', '/api/v1/tenants/hooli/retrain/reset', {}), 400, 'BAD_REQUEST', /reason/);
    const reset = await admin('POST', '/api/v1/tenants/hooli/retrain/reset', { reason: 'fixed the trainer' });
    assert.is(reset.status, 200, reset.text);
    assert.is(reset.body.wasOpen, true);
    assert.ok((await auditActions(sys, 'tenant:hooli')).some((a) => a.action === 'retrain.breaker.reset'));
    const after = await admin('POST', '/api/v1/tenants/hooli/retrain', { reason: 'after reset' });
    assert.is(after.status, 202, after.text);
    await finished(sys, 'hooli', 4);
  } finally {
    await sys.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quota: a trainer reporting 60 GPU-hours → the next job would exceed 100 → 409 BLOCK_RETRAINING + P3 alert', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-gpu-trainer-'));
  const script = join(dir, 'gpu.mjs');
  writeFileSync(
    script,
    `import { readFileSync, writeFileSync } from 'node:fs';
const [testFile, out] = process.argv.slice(2);
const n = readFileSync(testFile, 'utf8').split('\\n').filter(Boolean).length;
writeFileSync(out + '/artifact.bin', 'gpu model');
writeFileSync(out + '/metrics.json', JSON.stringify({ predictions: Array(n).fill(0), gpuHours: 60, costUsd: 90 }));`,
  );
  const sys = await startTestSystem({}, { retrain: { trainer: new CommandTrainer({ command: process.execPath, args: [script, '{test}', '{out}'] }) } });
  try {
    const admin = client(sys.app, BOOTSTRAP_TOKEN);
    await setup(sys, 'umbrella');
    assert.is((await admin('POST', '/api/v1/tenants/umbrella/retrain', { reason: 'one' })).status, 202);
    await finished(sys, 'umbrella', 1);
    sys.clock.increment(14 * DAY);
    expectError(await admin('POST', '/api/v1/tenants/umbrella/retrain', { reason: 'two' }), 409, 'BLOCK_RETRAINING', /60 of 100 GPU-hours/);
    expectError(await admin('POST', '/api/v1/tenants/umbrella/retrain', { reason: 'three' }), 409, 'BLOCK_RETRAINING');
    const alerts = rowsOf<{ kind: string; severity: string }>(await sys.database.db.execute(sql`select kind, severity from alerts where tenant_id = 'umbrella'`));
    assert.equal(alerts, [{ kind: 'retrain.quota', severity: 'P3' }], 'one open alert, not one per refusal');
    const refusals = (await auditActions(sys, 'tenant:umbrella')).filter((a) => a.action === 'retrain.refused');
    assert.equal(refusals.map((r) => r.payload.code), ['BLOCK_RETRAINING', 'BLOCK_RETRAINING']);
    const status = await admin('GET', '/api/v1/tenants/umbrella/retrain');
    assert.is(status.body.safeguards.quota.gpuHours, 60);
  } finally {
    await sys.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('timeout: a job running past the (configured) timeout is cancelled, its version FAILED, an alert raised', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-slow-trainer-'));
  const script = join(dir, 'slow.mjs');
  writeFileSync(script, `setTimeout(() => {}, 60_000);`);
  const sys = await startTestSystem({}, {
    retrain: { trainer: new CommandTrainer({ command: process.execPath, args: [script] }), policy: { ...DEFAULT_RETRAIN_POLICY, timeoutMs: 3_600_000 } },
  });
  try {
    const admin = client(sys.app, BOOTSTRAP_TOKEN);
    await setup(sys, 'soylent');
    assert.is((await admin('POST', '/api/v1/tenants/soylent/retrain', { reason: 'slow' })).status, 202);
    const running = await waitForStep(sys, 'soylent', 'training');
    // Another node starting asks every running saga to resume: this one's job runs here, so it goes on.
    assert.equal(await sys.retrain.service.resumeInterrupted(), ['soylent']);
    await sleep(200);
    await sys.host.idle();
    assert.is((await stateOf(sys, 'soylent'))?.saga?.step, 'training');
    sys.clock.increment(3_600_000);
    const saga = await finished(sys, 'soylent', 1);
    assert.is(saga.step, 'failed');
    assert.is(saga.error!.code, 'TIMEOUT');
    const [m] = await sys.database.db.select().from(modelVersions).where(eq(modelVersions.id, running.modelVersionId! as never));
    assert.is(m!.state, 'FAILED');
    const alerts = rowsOf<{ kind: string }>(await sys.database.db.execute(sql`select kind from alerts where tenant_id = 'soylent'`));
    assert.equal(alerts.map((a) => a.kind), ['retrain.timeout']);
  } finally {
    await sys.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
