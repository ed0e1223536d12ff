import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FencingError, IllegalTransitionError, LockHeldError } from '../../actors/errors';
import { NodeEd25519Signer } from '../../control-plane/adapters/ed25519-signer';
import { AuditLog } from '../../control-plane/audit/audit-store';
import { SqlFences } from '../../control-plane/lock/fences';
import { RedlockLock } from '../../control-plane/lock/redlock-lock';
import { systemClock } from '../../control-plane/ports/clock';
import { GuardedWrites } from '../../control-plane/retrain/guarded-writes';
import { rowsOf } from '../../db/rows';
import type { Db } from '../../db/client';
import { tenants } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { rejectsA } from '../support/assert';
import { openTestDatabase } from '../support/databases';
import { REDIS_URL, requirePostgres, requireRedis } from '../support/services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = 'cd'.repeat(32);

interface Ctx {
  db: Db;
  audit: AuditLog;
  writes: GuardedWrites;
  /** Two control-plane nodes: each its own Redis connections, one Postgres. */
  nodes: RedlockLock[];
  clients: Redis[];
  close(): Promise<void>;
}

const test = suite<Ctx>('retrain mutex on real Redis and Postgres', {} as Ctx);

test.before(async (ctx) => {
  const opened = (await openTestDatabase('postgres', 'retrain_lock'))!;
  ctx.db = opened.database.db;
  ctx.close = opened.close;
  ctx.audit = new AuditLog(ctx.db, NodeEd25519Signer.generate(), systemClock);
  await ctx.audit.registerKey(ctx.db);
  ctx.writes = new GuardedWrites(ctx.db, ctx.audit);
  const prefix = `tg-test-${randomBytes(4).toString('hex')}:`;
  ctx.clients = [];
  ctx.nodes = [0, 1].map(() => {
    // Two logical databases stand in for two independent Redlock nodes.
    const clients = [new Redis(`${REDIS_URL}/0`), new Redis(`${REDIS_URL}/1`)];
    ctx.clients.push(...clients);
    return new RedlockLock(clients, new SqlFences(ctx.db), { keyPrefix: prefix });
  });
  await ctx.db.insert(tenants).values([{ id: 'acme' as TenantId, name: 'Acme' }, { id: 'globex' as TenantId, name: 'Globex' }]);
});
test.after(async (ctx) => {
  await Promise.all(ctx.clients.map((c) => c.quit()));
  await ctx.audit.stop();
  await ctx.close();
});

async function snapshotCount(db: Db, tenantId: string): Promise<number> {
  return Number(rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from dataset_snapshots where tenant_id = ${tenantId}`))[0]!.n);
}

test('two nodes race for the same tenant: exactly one runs its job', async (ctx) => {
  const key = 'lock:tenant:acme:retrain';
  const ran: number[] = [];
  const job = async (node: number) => {
    const lease = await ctx.nodes[node]!.acquire(key, 10_000);
    try {
      ran.push(node);
      await ctx.writes.insertSnapshot(
        { lockKey: key, token: lease.fencingToken },
        { id: randomUUID(), tenantId: 'acme', featureSignature: 'f1', merkleRoot: ROOT, rowCount: 0, manifest: { node }, createdAt: new Date() },
      );
      await sleep(50);
    } finally {
      await lease.release();
    }
  };
  for (let round = 0; round < 5; round++) {
    ran.length = 0;
    const results = await Promise.allSettled([job(0), job(1)]);
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    assert.is(ok, 1, `round ${round}: exactly one node ran`);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.instance(refused.reason, LockHeldError);
    assert.is(ran.length, 1);
  }
  assert.is(await snapshotCount(ctx.db, 'acme'), 5);
});

test('stale holder: A pauses past its TTL, B takes over and writes, A\'s late writes are fenced and audited', async (ctx) => {
  const key = 'lock:tenant:globex:retrain';
  const a = await ctx.nodes[0]!.acquire(key, 100);
  await sleep(200); // A is "paused" (GC, network cut) past its TTL
  const b = await ctx.nodes[1]!.acquire(key, 10_000);
  assert.ok(b.fencingToken > a.fencingToken);
  await ctx.writes.insertSnapshot(
    { lockKey: key, token: b.fencingToken },
    { id: randomUUID(), tenantId: 'globex', featureSignature: 'f1', merkleRoot: ROOT, rowCount: 0, manifest: { by: 'B' }, createdAt: new Date() },
  );
  const lateSnapshot = randomUUID();
  const err = await rejectsA(
    ctx.writes.insertSnapshot(
      { lockKey: key, token: a.fencingToken },
      { id: lateSnapshot, tenantId: 'globex', featureSignature: 'f1', merkleRoot: ROOT, rowCount: 0, manifest: { by: 'A' }, createdAt: new Date() },
    ),
    FencingError,
    /lock was lost/,
  );
  assert.is(err.code, 'FENCED');
  assert.is(err.details?.latestToken, b.fencingToken);
  const lateModel = randomUUID();
  await rejectsA(
    ctx.writes.registerModelVersion(
      { lockKey: key, token: a.fencingToken },
      { id: lateModel, tenantId: 'globex', label: 'late', owner: 'retrain', featureSignature: 'f1', parentId: null, snapshotId: lateSnapshot, createdAt: new Date() },
    ),
    FencingError,
  );
  assert.is(await snapshotCount(ctx.db, 'globex'), 1, 'only B\'s snapshot');
  const models = rowsOf(await ctx.db.execute(sql`select id from model_versions where id = ${lateModel}::uuid`));
  assert.is(models.length, 0, 'no half-registered version');
  await ctx.audit.flush();
  const fenced = rowsOf<{ payload: { write: string; token: number; latestToken: number } }>(
    await ctx.db.execute(sql`select payload from audit_log where action = 'retrain.fenced' and subject = 'tenant:globex' order by seq`),
  );
  assert.equal(fenced.map((f) => f.payload.write), ['snapshot', 'model-version']);
  assert.is(Number(fenced[0]!.payload.token), a.fencingToken);
  // B, still the latest holder, writes fine; A's artifact for B's version is fenced too.
  const bModel = randomUUID();
  await ctx.writes.registerModelVersion(
    { lockKey: key, token: b.fencingToken },
    { id: bModel, tenantId: 'globex', label: 'b1', owner: 'retrain', featureSignature: 'f1', parentId: null, snapshotId: lateSnapshot, createdAt: new Date() },
  );
  const artifact = (sha256: string) => ({ tenantId: 'globex', modelVersionId: bModel, sha256, bytes: 3, kid: 'k', signature: 'sig', createdAt: new Date() });
  await rejectsA(ctx.writes.registerArtifact({ lockKey: key, token: a.fencingToken }, artifact('ef'.repeat(32))), FencingError);
  await ctx.writes.registerArtifact({ lockKey: key, token: b.fencingToken }, artifact('ab'.repeat(32)));
  const [mv] = rowsOf<{ artifact_sha256: string }>(await ctx.db.execute(sql`select artifact_sha256 from model_versions where id = ${bModel}::uuid`));
  assert.is(mv!.artifact_sha256, 'ab'.repeat(32));
  // A version that left DRAFT/TRAINING takes no artifact, even from the holder — and that is not a fencing event.
  await ctx.db.execute(sql`update model_versions set state = 'FAILED' where id = ${bModel}::uuid`);
  await rejectsA(ctx.writes.registerArtifact({ lockKey: key, token: b.fencingToken }, artifact('cd'.repeat(32))), IllegalTransitionError, /no longer in DRAFT or TRAINING/);
  await ctx.audit.flush();
  const fencedAfter = rowsOf<{ payload: { write: string } }>(
    await ctx.db.execute(sql`select payload from audit_log where action = 'retrain.fenced' and subject = 'tenant:globex' order by seq`),
  );
  assert.equal(fencedAfter.map((f) => f.payload.write), ['snapshot', 'model-version', 'artifact']);
  await a.release(); // a no-op: B still holds it
  await rejectsA(ctx.nodes[0]!.acquire(key, 1_000), LockHeldError);
  await b.release();
});

const up = (await requirePostgres()) && (await requireRedis());
if (up) test.run();
