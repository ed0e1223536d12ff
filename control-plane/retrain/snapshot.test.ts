import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeEd25519Signer } from '../adapters/ed25519-signer';
import { AuditLog } from '../audit/audit-store';
import { SqlFences } from '../lock/fences';
import { ManualClock } from '../ports/clock';
import type { Db } from '../../db/client';
import { learningEvents, tenants } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { openTestDatabase } from '../../test/support/databases';
import { messageChain } from '../../test/support/assert';
import { FsArtifactStore, signDigest, verifyDigest } from './artifact-store';
import { GuardedWrites, type Fence } from './guarded-writes';
import { Snapshots } from './snapshot';

interface Ctx {
  db: Db;
  audit: AuditLog;
  snapshots: Snapshots;
  fence: Fence;
  close(): Promise<void>;
}
const test = suite<Ctx>('dataset snapshots and artifacts', {} as Ctx);
const clock = new ManualClock(Date.UTC(2026, 4, 1));

test.before(async (ctx) => {
  const t = (await openTestDatabase('pglite', 'snap'))!;
  ctx.db = t.database.db;
  ctx.close = t.close;
  ctx.audit = new AuditLog(ctx.db, NodeEd25519Signer.generate(), clock);
  ctx.snapshots = new Snapshots(ctx.db, new GuardedWrites(ctx.db, ctx.audit), clock);
  await ctx.db.insert(tenants).values({ id: 'acme' as TenantId, name: 'Acme' });
  const lockKey = 'lock:tenant:acme:retrain';
  ctx.fence = { lockKey, token: await new SqlFences(ctx.db).next(lockKey) };
  await ctx.db.insert(learningEvents).values(
    Array.from({ length: 12 }, (_, i) => ({
      tenantId: 'acme' as TenantId,
      idempotencyKey: `e${i}`,
      features: { x: i, y: i % 3 },
      prediction: i * 0.5,
      actual: i % 4 === 3 ? null : i * 0.6, // three unlabelled
      segment: i % 2 ? 'north' : 'south',
      occurredAt: new Date(Date.UTC(2026, 3, 1 + i)),
    })),
  );
});
test.after(async (ctx) => {
  await ctx.audit.stop();
  await ctx.close();
});

test('a snapshot takes exactly the labelled events of its window and stores their Merkle root', async (ctx) => {
  const spec = { from: '2026-04-02T00:00:00.000Z', to: '2026-04-11T00:00:00.000Z', labelledOnly: true };
  const snap = await ctx.snapshots.take(ctx.fence, 'acme', 'sig', spec);
  // Days 2..10 → events e1..e9; e3 and e7 unlabelled → 7 rows.
  assert.equal(snap.rows.map((r) => r.idempotencyKey), ['e1', 'e2', 'e4', 'e5', 'e6', 'e8', 'e9']);
  assert.is(snap.rowCount, 7);
  assert.match(snap.merkleRoot, /^[0-9a-f]{64}$/);
  assert.equal(snap.manifest.featureNames, ['x', 'y']);
  const again = await ctx.snapshots.take(ctx.fence, 'acme', 'sig', spec);
  assert.is(again.merkleRoot, snap.merkleRoot, 'same rows, same root');
  assert.ok((await ctx.snapshots.verify(snap.id)).ok);
});

test('a changed underlying row is detected by recomputing the root', async (ctx) => {
  const spec = { from: '2026-04-01T00:00:00.000Z', to: '2026-05-01T00:00:00.000Z', labelledOnly: false };
  const snap = await ctx.snapshots.take(ctx.fence, 'acme', 'sig', spec);
  assert.ok((await ctx.snapshots.verify(snap.id)).ok);
  await ctx.db.update(learningEvents).set({ actual: 99 }).where(eq(learningEvents.idempotencyKey, 'e5'));
  const v = await ctx.snapshots.verify(snap.id);
  assert.is(v.ok, false);
  assert.is.not(v.recomputed, v.stored);
  await ctx.db.update(learningEvents).set({ actual: 5 * 0.6 }).where(eq(learningEvents.idempotencyKey, 'e5'));
  assert.ok((await ctx.snapshots.verify(snap.id)).ok, 'restored row, same root again');
  await ctx.db.delete(learningEvents).where(eq(learningEvents.idempotencyKey, 'e0'));
  const gone = await ctx.snapshots.verify(snap.id);
  assert.is(gone.ok, false);
  assert.is(gone.present, snap.rowCount - 1);
});

test('the database refuses UPDATE and DELETE of a snapshot', async (ctx) => {
  const snap = await ctx.snapshots.take(ctx.fence, 'acme', 'sig', { from: '2026-04-01T00:00:00.000Z', to: '2026-04-05T00:00:00.000Z', labelledOnly: true });
  for (const stmt of [
    sql`update dataset_snapshots set row_count = 0 where id = ${snap.id}`,
    sql`delete from dataset_snapshots where id = ${snap.id}`,
  ]) {
    try {
      await ctx.db.execute(stmt);
      assert.unreachable('the database accepted a change to a snapshot');
    } catch (err) {
      assert.match(messageChain(err), /append-only/);
    }
  }
  assert.ok((await ctx.snapshots.verify(snap.id)).ok);
});

test('artifacts: content-addressed per tenant, never overwritten, digest signed', () => {
  const root = mkdtempSync(join(tmpdir(), 'tg-artifacts-'));
  try {
    const store = new FsArtifactStore(root);
    const a = store.put('acme', Buffer.from('model-bytes-1'));
    assert.ok(a.created);
    assert.is(a.path, join(root, 'acme', a.sha256));
    const again = store.put('acme', Buffer.from('model-bytes-1'));
    assert.is(again.created, false);
    assert.is(again.sha256, a.sha256);
    assert.is(statSync(a.path).mode & 0o222, 0, 'stored read-only');
    assert.equal(readdirSync(join(root, 'acme')), [a.sha256], 'no temporary files left');
    assert.is(store.get('acme', a.sha256).toString(), 'model-bytes-1');
    // A file whose bytes no longer match its name is refused on read.
    const b = store.put('globex', Buffer.from('other'));
    rmSync(b.path, { force: true });
    writeFileSync(b.path, 'tampered');
    assert.throws(() => store.get('globex', b.sha256), /does not match/);
    assert.throws(() => store.pathOf('../etc', a.sha256), /tenant id/);
    assert.throws(() => store.pathOf('acme', '../../x'), /sha256/);
    const signer = NodeEd25519Signer.generate();
    const sig = signDigest(signer, a.sha256);
    assert.is(sig.kid, signer.kid);
    assert.ok(verifyDigest(signer, a.sha256, sig.signature));
    assert.not.ok(verifyDigest(signer, b.sha256, sig.signature));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
