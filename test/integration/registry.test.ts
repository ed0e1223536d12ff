import { eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ForbiddenError,
  IdempotencyConflictError,
  IllegalTransitionError,
  LockedError,
  RevisionConflictError,
} from '../../actors/errors';
import { isLegalPair } from '../../actors/model-version/lifecycle';
import { NodeEd25519Signer } from '../../control-plane/adapters/ed25519-signer';
import { AuditLog, readAudit, verifyStoredChain } from '../../control-plane/audit/audit-store';
import { ManualClock } from '../../control-plane/ports/clock';
import type { Principal } from '../../actors/principal';
import { RegistryService } from '../../control-plane/registry/registry-service';
import type { Db } from '../../db/client';
import { approvals, auditLog, modelVersions, tenants } from '../../db/schema';
import { MODEL_STATES, type ModelState, type ModelVersionId, type TenantId } from '../../db/schema/enums';
import { rejectsA } from '../support/assert';
import { openTestDatabase, type DbKind } from '../support/databases';
import { requirePostgres } from '../support/services';

const admin: Principal = { kind: 'user', name: 'ada', role: 'ADMIN' };
const manager: Principal = { kind: 'user', name: 'maria', role: 'MANAGER' };
const agronomist: Principal = { kind: 'user', name: 'joe', role: 'AGRONOMIST' };
const ARTIFACT = 'ab'.repeat(32);

interface Ctx {
  db: Db;
  audit: AuditLog;
  registry: RegistryService;
  clock: ManualClock;
  close(): Promise<void>;
  n: number;
}

function registrySuite(kind: DbKind) {
  const test = suite<Ctx>(`registry on ${kind}`, {} as Ctx);

  test.before(async (ctx) => {
    const opened = await openTestDatabase(kind, 'registry');
    if (!opened) throw new Error('unreachable: availability is checked before the suite is defined');
    ctx.db = opened.database.db;
    ctx.close = opened.close;
    ctx.clock = new ManualClock();
    const audit = new AuditLog(ctx.db, NodeEd25519Signer.generate(), ctx.clock);
    ctx.audit = audit;
    await audit.registerKey(ctx.db);
    ctx.registry = new RegistryService(ctx.db, audit, ctx.clock);
    ctx.n = 0;
  });
  test.after(async (ctx) => {
    await ctx.audit.stop();
    await ctx.close();
  });

  /** A tenant with one model version placed directly in `state` (setup only). */
  async function modelIn(ctx: Ctx, state: ModelState, extra: Partial<typeof modelVersions.$inferInsert> = {}) {
    const tenantId = `t-${kind}-${++ctx.n}`;
    await ctx.registry.createTenant({ id: tenantId, name: `Tenant ${ctx.n}`, stage: 'PILOT' }, admin);
    const model = await ctx.registry.createModel(tenantId, { label: 'v1', owner: 'ana', featureSignature: 'f1', artifactSha256: ARTIFACT }, manager);
    await ctx.db.update(modelVersions).set({ state, canaryVerdict: 'PASSED', ...extra }).where(eq(modelVersions.id, model.id));
    if (state === 'CHAMPION') await ctx.db.update(tenants).set({ championId: model.id }).where(eq(tenants.id, tenantId as TenantId));
    return { tenantId, id: model.id };
  }

  async function row(ctx: Ctx, id: string) {
    const [r] = await ctx.db.select().from(modelVersions).where(eq(modelVersions.id, id as ModelVersionId));
    return r!;
  }

  async function auditCount(ctx: Ctx): Promise<number> {
    await ctx.audit.flush();
    const [r] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
    return r!.n;
  }

  const cmd = (to: ModelState, expectedRevision = 0, key = `k-${Math.random()}`) => ({ to, reason: 'test', idempotencyKey: key, expectedRevision });

  test('every legal transition succeeds, bumps the revision and is audited', async (ctx) => {
    const pairs = MODEL_STATES.flatMap((f) => MODEL_STATES.map((t) => [f, t] as const)).filter(([f, t]) => isLegalPair(f, t));
    for (const [from, to] of pairs) {
      if (from === 'CHAMPION' && to === 'DEPRECATED') continue; // happens only by promotion; tested below
      const m = await modelIn(ctx, from);
      if (to === 'CHAMPION') {
        await ctx.registry.recordApproval(m.id, { decision: 'approve', justification: 'canary looked good' }, manager);
      }
      const rollback = (from === 'DEPRECATED' && to === 'CHAMPION') || (from === 'CHAMPION' && to === 'ROLLED_BACK');
      const before = await auditCount(ctx);
      const after = await ctx.registry.transition(m.id, cmd(to), admin, { rollback });
      assert.is(after.state, to, `${from} → ${to}`);
      assert.is(after.revision, 1);
      assert.is((await row(ctx, m.id)).state, to);
      assert.is(await auditCount(ctx), before + 1, `${from} → ${to} audited`);
    }
  });

  test('every illegal pair is refused with ILLEGAL_TRANSITION, changes nothing and is audited', async (ctx) => {
    const illegal = MODEL_STATES.flatMap((f) => MODEL_STATES.map((t) => [f, t] as const)).filter(([f, t]) => !isLegalPair(f, t));
    assert.is(illegal.length, 79);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...illegal), fc.constantFrom(manager, admin), async ([from, to], who) => {
        const m = await modelIn(ctx, from);
        const before = await row(ctx, m.id);
        const count = await auditCount(ctx);
        await rejectsA(ctx.registry.transition(m.id, cmd(to), who, { rollback: true }), IllegalTransitionError);
        const afterRow = await row(ctx, m.id);
        assert.equal({ state: afterRow.state, revision: afterRow.revision }, { state: before.state, revision: before.revision });
        assert.is(await auditCount(ctx), count + 1);
        const [last] = await ctx.db.select().from(auditLog).orderBy(sql`seq desc`).limit(1);
        assert.is(last!.action, 'model.transition.refused');
        assert.equal([(last!.payload as { from: string }).from, (last!.payload as { to: string }).to], [from, to]);
      }),
      { numRuns: kind === 'pglite' ? 60 : 120 },
    );
  });

  test('50 concurrent transitions at the same revision: one wins, 49 conflict, revision +1', async (ctx) => {
    const m = await modelIn(ctx, 'VALIDATED');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => ctx.registry.transition(m.id, cmd('SHADOW', 0, `race-${i}`), manager)),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof RevisionConflictError);
    assert.is(ok.length, 1);
    assert.is(conflicts.length, 49);
    const after = await row(ctx, m.id);
    assert.is(after.revision, 1);
    assert.is(after.state, 'SHADOW');
  });

  test('idempotent replay returns the first result and writes nothing; another payload conflicts', async (ctx) => {
    const m = await modelIn(ctx, 'VALIDATED');
    const first = await ctx.registry.transition(m.id, cmd('SHADOW', 0, 'once'), manager);
    const count = await auditCount(ctx);
    const again = await ctx.registry.transition(m.id, cmd('SHADOW', 0, 'once'), manager);
    assert.equal(again, first);
    assert.is(await auditCount(ctx), count);
    assert.is((await row(ctx, m.id)).revision, 1);
    await rejectsA(ctx.registry.transition(m.id, cmd('FAILED', 0, 'once'), manager), IdempotencyConflictError);
    // Concurrent duplicates of one command: all get the same answer, one write.
    const m2 = await modelIn(ctx, 'VALIDATED');
    const dupes = await Promise.all(Array.from({ length: 10 }, () => ctx.registry.transition(m2.id, cmd('SHADOW', 0, 'dup'), manager)));
    for (const d of dupes) assert.equal(d, dupes[0]);
    assert.is((await row(ctx, m2.id)).revision, 1);
  });

  test('a stale revision is a conflict and changes nothing', async (ctx) => {
    const m = await modelIn(ctx, 'VALIDATED');
    await rejectsA(ctx.registry.transition(m.id, cmd('SHADOW', 3), manager), RevisionConflictError, /revision 0, not 3/);
    assert.is((await row(ctx, m.id)).revision, 0);
  });

  test('promotion swaps the champion in one transaction; the database allows one champion', async (ctx) => {
    const a = await modelIn(ctx, 'CHAMPION');
    const b = await ctx.registry.createModel(a.tenantId, { label: 'v2', owner: 'ana', featureSignature: 'f1', artifactSha256: ARTIFACT }, manager);
    await ctx.db.update(modelVersions).set({ state: 'CANARY', canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, b.id));
    await rejectsA(ctx.registry.transition(b.id, cmd('CHAMPION'), manager), ForbiddenError, /approval/);
    await ctx.registry.recordApproval(b.id, { decision: 'approve', justification: 'canary p=0.01' }, manager);
    const promoted = await ctx.registry.transition(b.id, cmd('CHAMPION'), manager);
    assert.is(promoted.state, 'CHAMPION');
    assert.is(promoted.previousStableId, a.id);
    assert.is((await row(ctx, a.id)).state, 'DEPRECATED');
    assert.is((await ctx.registry.getTenant(a.tenantId)).championId, b.id);
    // The partial unique index refuses a second champion whatever the code does.
    await rejectsA(ctx.db.update(modelVersions).set({ state: 'CHAMPION' }).where(eq(modelVersions.id, a.id)), Error, /./);
    assert.is((await row(ctx, a.id)).state, 'DEPRECATED');
    // And the rollback path brings the previous stable version back.
    await ctx.registry.transition(b.id, cmd('ROLLED_BACK', 1), admin, { rollback: true });
    const back = await ctx.registry.transition(a.id, cmd('CHAMPION', 1), admin, { rollback: true });
    assert.is(back.state, 'CHAMPION');
  });

  test('roles: AGRONOMIST changes nothing and the refusal is audited', async (ctx) => {
    const m = await modelIn(ctx, 'VALIDATED');
    const count = await auditCount(ctx);
    await rejectsA(ctx.registry.transition(m.id, cmd('SHADOW'), agronomist), ForbiddenError);
    await rejectsA(ctx.registry.createTenant({ id: 'nope', name: 'x' }, manager), ForbiddenError, /ADMIN/);
    await rejectsA(ctx.registry.recordApproval(m.id, { decision: 'approve', justification: 'x' }, agronomist), ForbiddenError);
    assert.is(await auditCount(ctx), count + 3);
    assert.is((await row(ctx, m.id)).revision, 0);
    assert.is((await ctx.db.select().from(approvals).where(eq(approvals.modelVersionId, m.id as ModelVersionId))).length, 0);
  });

  test('a forensic lock refuses every transition but quarantine', async (ctx) => {
    const m = await modelIn(ctx, 'SHADOW');
    await ctx.db.update(tenants).set({ forensicLock: true, forensicLockReason: 'incident 42' }).where(eq(tenants.id, m.tenantId as TenantId));
    await rejectsA(ctx.registry.transition(m.id, cmd('CANARY'), admin), LockedError, /incident 42/);
    const q = await ctx.registry.transition(m.id, cmd('QUARANTINED'), admin);
    assert.is(q.state, 'QUARANTINED');
  });

  // The hot path decides on the row this node wrote last; these writers change the row behind
  // its back without moving `revision`, and the next command must still see them.
  test('a write that leaves the revision alone is seen by the next transition (guards, answer, lock)', async (ctx) => {
    const m = await modelIn(ctx, 'DRAFT');
    const training = await ctx.registry.transition(m.id, cmd('TRAINING', 0), manager);
    // The artifact goes away: TRAINING → VALIDATED must now be refused, and audited.
    await ctx.db.update(modelVersions).set({ artifactSha256: null }).where(eq(modelVersions.id, m.id as ModelVersionId));
    const audited = await auditCount(ctx);
    await rejectsA(ctx.registry.transition(m.id, cmd('VALIDATED', training.revision), manager), IllegalTransitionError, /artifact/);
    assert.is((await row(ctx, m.id)).state, 'TRAINING');
    assert.is(await auditCount(ctx), audited + 1);

    // The artifact comes back with a verdict: the answer carries both.
    await ctx.db.update(modelVersions).set({ artifactSha256: ARTIFACT, canaryVerdict: 'FAILED' }).where(eq(modelVersions.id, m.id as ModelVersionId));
    const validated = await ctx.registry.transition(m.id, cmd('VALIDATED', training.revision), manager);
    assert.is(validated.artifactSha256, ARTIFACT);
    assert.is(validated.canaryVerdict, 'FAILED');

    // A forensic lock set by someone else refuses the next move, but not quarantine.
    const shadow = await ctx.registry.transition(m.id, cmd('SHADOW', validated.revision), manager);
    await ctx.db.update(tenants).set({ forensicLock: true, forensicLockReason: 'incident 43' }).where(eq(tenants.id, m.tenantId as TenantId));
    await rejectsA(ctx.registry.transition(m.id, cmd('CANARY', shadow.revision), admin), LockedError, /incident 43/);
    assert.is((await ctx.registry.transition(m.id, cmd('QUARANTINED', shadow.revision), admin)).state, 'QUARANTINED');
  });

  test('two nodes on one database: each sees what the other wrote', async (ctx) => {
    const m = await modelIn(ctx, 'VALIDATED');
    const other = new RegistryService(ctx.db, ctx.audit, ctx.clock);
    const a = await ctx.registry.transition(m.id, cmd('QUARANTINED', 0), admin);
    const b = await other.transition(m.id, cmd('VALIDATED', a.revision), admin);
    // This node remembers revision 1; the client knows 2.
    const c = await ctx.registry.transition(m.id, cmd('QUARANTINED', b.revision), admin);
    assert.is(c.revision, 3);
    // A client still at revision 1 is told so by either node, whatever each remembers.
    await rejectsA(ctx.registry.transition(m.id, cmd('VALIDATED', a.revision), admin), RevisionConflictError, /revision 3/);
    await rejectsA(other.transition(m.id, cmd('VALIDATED', a.revision), admin), RevisionConflictError, /revision 3/);
    // A key used before, now at the current revision with another payload: a conflict, nothing written.
    const d = await ctx.registry.transition(m.id, cmd('VALIDATED', c.revision, 'k-reused'), admin);
    await rejectsA(ctx.registry.transition(m.id, cmd('QUARANTINED', d.revision, 'k-reused'), admin), IdempotencyConflictError);
    assert.is((await row(ctx, m.id)).revision, d.revision);
  });

  test('audit_log and dataset_snapshots are append-only in the database', async (ctx) => {
    await rejectsA(ctx.db.execute(sql`update audit_log set actor = 'mallory' where seq = 1`), Error, /append-only/);
    await rejectsA(ctx.db.execute(sql`delete from audit_log where seq = 1`), Error, /append-only/);
    await rejectsA(ctx.db.execute(sql`truncate audit_log`), Error, /append-only/);
    const m = await modelIn(ctx, 'DRAFT');
    await ctx.db.execute(
      sql`insert into dataset_snapshots (id, tenant_id, feature_signature, merkle_root, row_count, manifest) values (gen_random_uuid(), ${m.tenantId}, 'f1', ${'0'.repeat(64)}, 1, '{}')`,
    );
    await rejectsA(ctx.db.execute(sql`update dataset_snapshots set row_count = 2`), Error, /append-only/);
    await rejectsA(ctx.db.execute(sql`delete from dataset_snapshots`), Error, /append-only/);
  });

  test('concurrent writers leave one gapless chain that verifies', async (ctx) => {
    const m = await modelIn(ctx, 'DRAFT');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ctx.registry.createModel(m.tenantId, { label: `c${i}`, owner: 'ana', featureSignature: 'f1' }, manager),
      ),
    );
    await ctx.audit.flush();
    const entries = await readAudit(ctx.db, 0, 100_000);
    entries.forEach((e, i) => assert.is(e.seq, i + 1));
    const report = await verifyStoredChain(ctx.db);
    assert.ok(report.ok, report.reason);
    assert.is(report.length, entries.length);
  });

  return test;
}

// Probe first: a top-level await after a suite's .run() garbles uvu's output.
const pgAvailable = await requirePostgres();
registrySuite('pglite').run();
if (pgAvailable) registrySuite('postgres').run();
