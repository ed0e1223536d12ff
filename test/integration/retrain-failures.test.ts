import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LockHeldError } from '../../actors/errors';
import type { RetrainState } from '../../actors/retrain/behaviour';
import { CommandTrainer } from '../../control-plane/retrain/trainers/command-trainer';
import { rowsOf } from '../../db/rows';
import { learningEvents } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { rejectsA } from '../support/assert';
import { createTestDatabase, NATS_URL, REDIS_URL, requireNats, requirePostgres, requireRedis } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stateOf(sys: Sys, tenantId: string): Promise<RetrainState | null> {
  const [row] = rowsOf<{ state: RetrainState }>(await sys.database.db.execute(sql`select state from actor_state where kind = 'retrain' and id = ${tenantId}`));
  return row?.state ?? null;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) assert.unreachable(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const test = suite('retrain failures across nodes (Postgres, Redlock, NATS): crash mid-saga, race, Redis down, lease lost');

test('the saga fails cleanly on the next start: version FAILED, mutex released, nothing half-registered', async () => {
  const db = (await createTestDatabase('retrain_crash'))!;
  const dir = mkdtempSync(join(tmpdir(), 'tg-crash-'));
  const script = join(dir, 'slow.mjs');
  writeFileSync(script, `setTimeout(() => {}, 60_000);`);
  const tenantId = `crash-${randomBytes(4).toString('hex')}`; // Redis is shared: a key of our own
  const env = { DATABASE_URL: db.url, REDIS_URLS: REDIS_URL, NATS_URL, TOLLGATE_SUBJECT_PREFIX: `t${randomBytes(4).toString('hex')}` };
  const retrain = { trainer: new CommandTrainer({ command: process.execPath, args: [script] }) };
  const probeClient = new Redis(REDIS_URL);
  let sys2: Sys | null = null;
  try {
    const sys1 = await startTestSystem(env, { retrain });
    const admin1 = client(sys1.app, BOOTSTRAP_TOKEN);
    assert.is((await admin1('POST', '/api/v1/tenants', { id: tenantId, name: 'Crash', stage: 'PILOT' })).status, 201);
    assert.is((await admin1('POST', `/api/v1/tenants/${tenantId}/models`, { label: 'v1', owner: 'ada', featureSignature: 'sig' })).status, 201);
    const now = sys1.clock.now().getTime();
    await sys1.database.db.insert(learningEvents).values(
      Array.from({ length: 40 }, (_, i) => ({ tenantId: tenantId as TenantId, idempotencyKey: `e${i}`, features: { a: i }, prediction: i, actual: i + 1, occurredAt: new Date(now - (40 - i) * 60_000) })),
    );
    const res = await admin1('POST', `/api/v1/tenants/${tenantId}/retrain`, { reason: 'crash me' });
    assert.is(res.status, 202, res.text);
    const running = await until('the training step', async () => {
      const s = await stateOf(sys1, tenantId);
      return s?.saga?.step === 'training' ? s.saga : null;
    });
    assert.ok(running.lease);
    await sys1.dispose(); // the node stops while its trainer runs

    // The Redlock lease outlived the node (24 h TTL): nobody else can take the tenant's mutex.
    assert.is(await probeClient.get(`lock:tenant:${tenantId}:retrain`), running.lease!.owner);

    sys2 = await startTestSystem(env, { retrain });
    const done = await until('the saga to be failed on restart', async () => {
      const s = await stateOf(sys2!, tenantId);
      return s && !s.saga && s.history.length === 1 ? s.history[0]! : null;
    });
    await sys2.retrain.runner.idle();
    await sys2.host.idle();
    assert.is(done.step, 'failed');
    assert.is(done.error!.code, 'INTERRUPTED');
    assert.is(done.sagaId, res.body.sagaId);
    // Mutex released by its persisted owner id, not left to expire.
    await until('the mutex release', async () => (await probeClient.get(`lock:tenant:${tenantId}:retrain`)) === null);
    const lease = await sys2.retrain.lock.acquire(`lock:tenant:${tenantId}:retrain`, 5_000);
    assert.ok(lease.fencingToken > running.lease!.token);
    await rejectsA(sys2.retrain.lock.acquire(`lock:tenant:${tenantId}:retrain`, 5_000), LockHeldError);
    await lease.release();
    // No half-registered version: the saga's version is FAILED, with no artifact.
    const versions = rowsOf<{ id: string; label: string; state: string; artifact_sha256: string | null }>(
      await sys2.database.db.execute(sql`select id, label, state, artifact_sha256 from model_versions where tenant_id = ${tenantId} order by created_at`),
    );
    assert.is(versions.length, 2);
    const saga = versions.find((v) => v.id === running.modelVersionId)!;
    assert.is(saga.state, 'FAILED');
    assert.is(saga.artifact_sha256, null);
    const artifacts = rowsOf(await sys2.database.db.execute(sql`select 1 from model_artifacts where tenant_id = ${tenantId}`));
    assert.is(artifacts.length, 0);
    await sys2.audit.flush();
    const finishedEntry = rowsOf<{ payload: { recovered: boolean; outcome: string } }>(
      await sys2.database.db.execute(sql`select payload from audit_log where action = 'retrain.finished' and subject = ${`tenant:${tenantId}`}`),
    );
    assert.is(finishedEntry.length, 1);
    assert.is(finishedEntry[0]!.payload.recovered, true);
    assert.is(finishedEntry[0]!.payload.outcome, 'FAILED');
  } finally {
    await sys2?.dispose();
    probeClient.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
});

test('two nodes (split brain: each its own bus, one Postgres, one Redis) race for one tenant: exactly one retrain runs', async () => {
  const db = (await createTestDatabase('retrain_race'))!;
  const dir = mkdtempSync(join(tmpdir(), 'tg-race-'));
  const script = join(dir, 'slow.mjs');
  writeFileSync(script, `setTimeout(() => {}, 60_000);`);
  const tenantId = `race-${randomBytes(4).toString('hex')}`;
  // No NATS: each node has an in-process bus, so each runs its own copy of the tenant's actors.
  const env = { DATABASE_URL: db.url, REDIS_URLS: REDIS_URL };
  const retrain = { trainer: new CommandTrainer({ command: process.execPath, args: [script] }) };
  const nodes: Sys[] = [];
  try {
    nodes.push(await startTestSystem(env, { retrain }), await startTestSystem(env, { retrain }));
    const [a, b] = nodes.map((n) => client(n.app, BOOTSTRAP_TOKEN));
    assert.is((await a!('POST', '/api/v1/tenants', { id: tenantId, name: 'Race', stage: 'PILOT' })).status, 201);
    assert.is((await a!('POST', `/api/v1/tenants/${tenantId}/models`, { label: 'v1', owner: 'ada', featureSignature: 'sig' })).status, 201);
    const now = nodes[0]!.clock.now().getTime();
    await nodes[0]!.database.db.insert(learningEvents).values(
      Array.from({ length: 20 }, (_, i) => ({ tenantId: tenantId as TenantId, idempotencyKey: `e${i}`, features: { a: i }, prediction: i, actual: i + 1, occurredAt: new Date(now - (20 - i) * 60_000) })),
    );
    const results = await Promise.all([a!('POST', `/api/v1/tenants/${tenantId}/retrain`, { reason: 'node a' }), b!('POST', `/api/v1/tenants/${tenantId}/retrain`, { reason: 'node b' })]);
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses, [202, 409], results.map((r) => r.text).join(' / '));
    const refused = results.find((r) => r.status === 409)!;
    assert.is(refused.body.error.code, 'LOCKED', refused.text);
    const winner = results.find((r) => r.status === 202)!;
    await until('a training step', async () => (await stateOf(nodes[0]!, tenantId))?.saga?.step === 'training');
    const versions = rowsOf(await nodes[0]!.database.db.execute(sql`select id from model_versions where tenant_id = ${tenantId}`));
    assert.is(versions.length, 2, 'one retrained version, not two');
    await Promise.all(nodes.map((n) => n.audit.flush()));
    const started = rowsOf<{ payload: { sagaId: string } }>(await nodes[0]!.database.db.execute(sql`select payload from audit_log where action = 'retrain.started' and subject = ${`tenant:${tenantId}`}`));
    assert.equal(started.map((s) => s.payload.sagaId), [winner.body.sagaId]);
  } finally {
    for (const n of nodes) await n.dispose();
    const cleanup = new Redis(REDIS_URL);
    await cleanup.del(`lock:tenant:${tenantId}:retrain`);
    cleanup.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
});

test('Redis down: a retrain fails closed with 503 UNAVAILABLE (no job runs unlocked), audited; the saga is cleared', async () => {
  const db = (await createTestDatabase('retrain_redis_down'))!;
  // Port 1 on 127.0.0.1: nothing listens, the connection is refused at once.
  const sys = await startTestSystem({ DATABASE_URL: db.url, REDIS_URLS: 'redis://127.0.0.1:1' });
  try {
    const admin = client(sys.app, BOOTSTRAP_TOKEN);
    assert.is((await admin('POST', '/api/v1/tenants', { id: 'down', name: 'Down', stage: 'PILOT' })).status, 201);
    const res = await admin('POST', '/api/v1/tenants/down/retrain', { reason: 'no redis' });
    assert.is(res.status, 503, res.text);
    assert.is(res.body.error.code, 'UNAVAILABLE');
    assert.match(res.body.error.message, /mutex is unavailable/);
    const state = await until('the saga to be cleared', async () => {
      const s = await stateOf(sys, 'down');
      return s && !s.saga ? s : null;
    });
    assert.is(state.safeguards.lastStartedAt, null, 'a job that never ran does not count toward the rate limit');
    await sys.audit.flush();
    const refused = rowsOf<{ payload: { code: string } }>(await sys.database.db.execute(sql`select payload from audit_log where action = 'retrain.refused' and subject = 'tenant:down'`));
    assert.equal(refused.map((r) => r.payload.code), ['UNAVAILABLE']);
    const versions = rowsOf(await sys.database.db.execute(sql`select 1 from model_versions where tenant_id = 'down'`));
    assert.is(versions.length, 0);
  } finally {
    await sys.dispose();
    await db.drop();
  }
});

test('a lease lost while training (key taken over in Redis): the job stops at once, the saga fails with LOCK_LOST', async () => {
  const db = (await createTestDatabase('retrain_lock_lost'))!;
  const dir = mkdtempSync(join(tmpdir(), 'tg-lost-'));
  const script = join(dir, 'slow.mjs');
  writeFileSync(script, `setTimeout(() => {}, 60_000);`);
  const tenantId = `lost-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL);
  const sys = await startTestSystem(
    { DATABASE_URL: db.url, REDIS_URLS: REDIS_URL },
    { retrain: { trainer: new CommandTrainer({ command: process.execPath, args: [script] }), lockTtlMs: 600 } },
  );
  try {
    const admin = client(sys.app, BOOTSTRAP_TOKEN);
    assert.is((await admin('POST', '/api/v1/tenants', { id: tenantId, name: 'Lost', stage: 'PILOT' })).status, 201);
    assert.is((await admin('POST', `/api/v1/tenants/${tenantId}/models`, { label: 'v1', owner: 'ada', featureSignature: 'sig' })).status, 201);
    const now = sys.clock.now().getTime();
    await sys.database.db.insert(learningEvents).values(
      Array.from({ length: 20 }, (_, i) => ({ tenantId: tenantId as TenantId, idempotencyKey: `e${i}`, features: { a: i }, prediction: i, actual: i + 1, occurredAt: new Date(now - (20 - i) * 60_000) })),
    );
    assert.is((await admin('POST', `/api/v1/tenants/${tenantId}/retrain`, { reason: 'lose it' })).status, 202);
    await until('the training step', async () => (await stateOf(sys, tenantId))?.saga?.step === 'training');
    // Someone else's value in the key (a partition healed the wrong way): the next extension sees it.
    await redis.set(`lock:tenant:${tenantId}:retrain`, 'someone-else', 'PX', 60_000);
    const done = await until('the saga to fail', async () => {
      const s = await stateOf(sys, tenantId);
      return s && !s.saga && s.history.length === 1 ? s.history[0]! : null;
    });
    await sys.retrain.runner.idle();
    assert.is(done.error!.code, 'LOCK_LOST');
    const [v] = rowsOf<{ state: string }>(await sys.database.db.execute(sql`select state from model_versions where id = ${done.modelVersionId!}::uuid`));
    assert.is(v!.state, 'FAILED');
    assert.is(await redis.get(`lock:tenant:${tenantId}:retrain`), 'someone-else', 'the other holder\'s key is left alone');
  } finally {
    await redis.del(`lock:tenant:${tenantId}:retrain`);
    redis.disconnect();
    await sys.dispose();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
});

const up = (await requirePostgres()) && (await requireRedis()) && (await requireNats());
if (up) test.run();
