import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { combine } from 'shamir-secret-sharing';
import { parseConfig } from '../../control-plane/config';
import { NodeEd25519Signer } from '../../control-plane/adapters/ed25519-signer';
import { ManualClock } from '../../control-plane/ports/clock';
import { buildSystem, type System } from '../../control-plane/system';
import { GOVERNANCE_LOCKED_ACTIONS } from '../../actors/governance/unlock';
import { GovernanceUnlockInvalidError, GovernanceUnlockRequiredError } from '../../actors/errors';
import { runGoverned } from '../../control-plane/governance';
import { openShare, shareBinding, shareDigest, sign, toBase64Url, fromBase64Url } from '../../control-plane/governance/share-crypto';
import { verifyStoredChain } from '../../control-plane/audit/audit-store';
import { rowsOf } from '../../db/rows';
import { createTestDatabase, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, type Call } from '../support/system';
import { grantUnlock, submissionOf, testCommittee, type TestMember } from '../support/governance';
import type { SignedCommittee } from '../../control-plane/governance/ceremony';
import type { SealedShareFile } from '../../control-plane/governance/share-crypto';

interface Ctx {
  sys: System;
  clock: ManualClock;
  dataDir: string;
  logs: string[];
  responses: string[];
  admin: ReturnType<typeof client>;
  manager: ReturnType<typeof client>;
  managerToken: string;
  members: TestMember[];
  committee: SignedCommittee;
  shares: SealedShareFile[];
}

interface Backend {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** One suite, run on the embedded database and on Postgres. */
function governanceSuite(label: string, backend: () => Promise<Backend>) {
  const test = suite<Ctx & { backend: Backend }>(`governance: committee, unlocks, gate (${label})`, {} as Ctx & { backend: Backend });

  function recording(app: System['app'], token: string | undefined, responses: string[]) {
    const call = client(app, token);
    return async (...args: Parameters<typeof call>): Promise<Call> => {
      const res = await call(...args);
      responses.push(res.text);
      return res;
    };
  }

  test.before(async (ctx) => {
    ctx.logs = [];
    ctx.responses = [];
    ctx.dataDir = mkdtempSync(join(tmpdir(), 'tollgate-gov-'));
    ctx.clock = new ManualClock(Date.now());
    const sink = new Writable({
      write(chunk, _enc, cb) {
        ctx.logs.push(String(chunk));
        cb();
      },
    });
    ctx.backend = await backend();
    ctx.sys = await buildSystem(parseConfig({ TOLLGATE_DATA_DIR: ctx.dataDir, TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: BOOTSTRAP_TOKEN, ...ctx.backend.env }), {
      clock: ctx.clock,
      signer: NodeEd25519Signer.generate(),
      log: pino({ level: 'trace' }, sink),
      ...(ctx.backend.env.DATABASE_URL ? {} : { embeddedDir: 'memory://' }),
    });
    ctx.admin = recording(ctx.sys.app, BOOTSTRAP_TOKEN, ctx.responses);
    const m = await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' });
    assert.is(m.status, 201, m.text);
    ctx.managerToken = m.body.token;
    ctx.manager = recording(ctx.sys.app, ctx.managerToken, ctx.responses);
    for (const id of ['farm-a', 'farm-b', 'farm-c']) assert.is((await ctx.admin('POST', '/api/v1/tenants', { id, name: id, stage: 'PILOT' })).status, 201);
    Object.assign(ctx, await testCommittee(7, 5));
  });
  test.after(async (ctx) => {
    await ctx.sys?.close();
    await ctx.backend?.cleanup();
    rmSync(ctx.dataDir, { recursive: true, force: true });
  });

  /** The whole audit log (the export), shaped like GET /audit. */
  async function allAudit(ctx: Ctx) {
    await ctx.sys.audit.flush();
    const res = await ctx.admin('GET', '/api/v1/audit/export');
    assert.is(res.status, 200);
    return { body: { entries: res.text.trim().split('\n').map((l) => JSON.parse(l)) } };
  }

  function expectError(res: Call, status: number, code: string, message?: RegExp) {
    assert.is(res.status, status, res.text);
    assert.is(res.body?.error?.code, code, res.text);
    if (message) assert.match(res.body.error.message, message);
  }

  async function propose(ctx: Ctx, action: string, params: Record<string, unknown>) {
    const res = await ctx.manager('POST', '/api/v1/governance/unlocks', { action, params, justification: 'test' });
    assert.is(res.status, 201, res.text);
    return res.body as { id: string; actionHash: string; nonce: string; expiresAt: string; threshold: number; received: unknown[] };
  }

  async function submit(ctx: Ctx, request: { id: string; actionHash: string; nonce: string }, i: number): Promise<Call> {
    return ctx.manager('POST', `/api/v1/governance/unlocks/${request.id}/shares`, submissionOf(ctx.members, ctx.shares, i, request));
  }

  test('without a committee every locked action is refused, telling the operator to run committee init', async (ctx) => {
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm-a/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'x' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED', /tollgate committee init/);
    assert.is((await ctx.admin('POST', '/api/v1/tenants/farm-a/lock', { reason: 'forensics' })).status, 200);
    expectError(await ctx.admin('DELETE', '/api/v1/tenants/farm-a/lock', { justification: 'x' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED', /committee init/);
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'tenant.forensic-lock.lift', params: { tenantId: 'farm-a' }, justification: 'x' }), 409, 'NO_COMMITTEE', /committee init/);
    expectError(await ctx.admin('GET', '/api/v1/governance/committee'), 404, 'NOT_FOUND', /committee init/);
  });

  test('installing the committee: ADMIN only, proof checked, malformed refused; the ceremony is audited with the head hash', async (ctx) => {
    const body = { committee: ctx.committee };
    expectError(await ctx.manager('PUT', '/api/v1/governance/committee', body), 403, 'FORBIDDEN');
    expectError(await ctx.admin('PUT', '/api/v1/governance/committee', { committee: { ...ctx.committee, threshold: 4 } }), 400, 'BAD_REQUEST', /proof/);
    expectError(await ctx.admin('PUT', '/api/v1/governance/committee', { committee: { ...ctx.committee, extra: 1 } }), 400, 'BAD_REQUEST', /unknown field/);
    expectError(await ctx.admin('PUT', '/api/v1/governance/committee', '{"committee":'), 400, 'BAD_REQUEST', /malformed JSON/);
    expectError(await client(ctx.sys.app)('PUT', '/api/v1/governance/committee', body), 401, 'UNAUTHENTICATED');
    const res = await ctx.admin('PUT', '/api/v1/governance/committee', body);
    assert.is(res.status, 201, res.text);
    assert.is(res.body.threshold, 5);
    assert.is(res.body.members.length, 7);
    assert.match(res.body.audit.hash, /^[0-9a-f]{64}$/);
    const audit = await allAudit(ctx);
    const created = audit.body.entries.find((e: { action: string }) => e.action === 'governance.committee.created');
    assert.ok(created, 'ceremony audited');
    assert.is(created.payload.publicKey, ctx.committee.publicKey);
    // A second ceremony is the locked committee.change.
    const other = await testCommittee(7, 5);
    expectError(await ctx.admin('PUT', '/api/v1/governance/committee', { committee: other.committee }), 403, 'GOVERNANCE_UNLOCK_REQUIRED', /committee.change/);
    assert.is((await ctx.admin('GET', '/api/v1/governance/committee')).body.committeeId, ctx.committee.committeeId);
  });

  test('an ADMIN token cannot perform any governance-locked action directly (each tried)', async (ctx) => {
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm-b/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'x' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    expectError(await ctx.admin('POST', '/api/v1/tenants', { id: 'farm-z', name: 'z', stage: 'CONTROLLED_AUTONOMY' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    expectError(await ctx.admin('DELETE', '/api/v1/tenants/farm-a/lock', { justification: 'x' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    expectError(await ctx.admin('DELETE', '/api/v1/tenants/farm-a/lock', { justification: 'x', unlockId: '00000000-0000-4000-8000-000000000000' }), 403, 'GOVERNANCE_UNLOCK_INVALID');
    const other = await testCommittee(7, 5);
    expectError(await ctx.admin('PUT', '/api/v1/governance/committee', { committee: other.committee }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm-b/risk-matrix', { riskMatrix: { maxTrafficPercent: 50 }, justification: 'x' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm-b/drift/config', { rollbackRmse: 3 }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    const kid = (await ctx.admin('GET', '/api/v1/keys/current')).body.kid;
    expectError(await ctx.admin('POST', '/api/v1/keys/rotate', { kid, justification: 'x' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    expectError(await ctx.admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: ['committee.change', 'governance.locked-actions.change'], justification: 'x' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    for (const stage of ['DARK_LAUNCH', 'CANARY_1', 'CANARY_10']) assert.is((await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage })).status, 200, stage);
    expectError(await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'OPEN' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
    assert.is((await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'SHADOW_SYNC' })).status, 200);
    assert.is((await ctx.admin('GET', '/api/v1/keys/current')).body.kid, kid);
    // Every locked action (baseline.reset's endpoint needs drift data first, see drift.test.ts): the gate itself refuses each one for an ADMIN.
    const admin = { kind: 'user' as const, name: 'bootstrap', role: 'ADMIN' as const };
    for (const action of GOVERNANCE_LOCKED_ACTIONS) {
      try {
        await runGoverned(ctx.sys.database.db, ctx.sys.audit, admin, (tx) => ctx.sys.governance.gate.requireUnlock(tx, action, { tenantId: 'farm-a' }, undefined, admin));
        assert.unreachable(`${action} passed the gate`);
      } catch (err) {
        assert.instance(err, GovernanceUnlockRequiredError, action);
      }
    }
    const t = await ctx.admin('GET', '/api/v1/tenants/farm-b');
    assert.is(t.body.stage, 'PILOT');
    assert.is((await ctx.admin('GET', '/api/v1/tenants/farm-a')).body.forensicLock, true);
  });

  test('4 shares: still locked; the 5th unlocks; the action takes effect once; a duplicate counts once', async (ctx) => {
    const req = await propose(ctx, 'tenant.stage.controlled-autonomy', { tenantId: 'farm-b', stage: 'CONTROLLED_AUTONOMY' });
    assert.equal(req.received, []);
    assert.is(req.threshold, 5);
    assert.is(new Date(req.expiresAt).getTime() - ctx.clock.now().getTime(), 24 * 3600 * 1000);
    for (const i of [0, 1, 2, 3]) assert.is((await submit(ctx, req, i)).status, 200);
    const dup = await submit(ctx, req, 3);
    expectError(dup, 409, 'SHARE_ALREADY_RECEIVED', /counts once/);
    const four = await ctx.manager('GET', `/api/v1/governance/unlocks/${req.id}`);
    assert.is(four.body.state, 'PENDING');
    assert.is(four.body.progress, '4 of 5');
    assert.equal(four.body.received.map((r: { name: string }) => r.name), ['Ada', 'Bea', 'Cal', 'Dev']);
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm-b/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'x', unlockId: req.id }), 403, 'GOVERNANCE_UNLOCK_INVALID', /threshold/);
    const five = await submit(ctx, req, 6);
    assert.is(five.status, 200, five.text);
    assert.is(five.body.state, 'UNLOCKED');
    assert.match(five.body.signature, /^[A-Za-z0-9_-]{86}$/);
    // The unlock is for farm-b only.
    expectError(await ctx.admin('PUT', '/api/v1/tenants/farm-c/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'x', unlockId: req.id }), 403, 'GOVERNANCE_UNLOCK_INVALID', /another action or other params/);
    const done = await ctx.manager('PUT', '/api/v1/tenants/farm-b/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'committee agreed', unlockId: req.id });
    assert.is(done.status, 200, done.text);
    assert.is(done.body.stage, 'CONTROLLED_AUTONOMY');
    // Single use.
    await ctx.manager('PUT', '/api/v1/tenants/farm-b/stage', { stage: 'PILOT', justification: 'back' });
    expectError(await ctx.manager('PUT', '/api/v1/tenants/farm-b/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'again', unlockId: req.id }), 403, 'GOVERNANCE_UNLOCK_INVALID', /already been used/);
    // A submission after the unlock is refused.
    expectError(await submit(ctx, req, 5), 409, 'UNLOCK_NOT_OPEN');
    const after = await ctx.manager('GET', `/api/v1/governance/unlocks/${req.id}`);
    assert.is(after.body.state, 'CONSUMED');
    assert.is(after.body.consumedBy, 'maria');
  });

  test('refusals: tampered share (holder named), another request, non-member, wrong key, expired, reset, replay', async (ctx) => {
    const a = await propose(ctx, 'tenant.forensic-lock.lift', { tenantId: 'farm-a' });
    const b = await propose(ctx, 'tenant.forensic-lock.lift', { tenantId: 'farm-a' });
    // Tampered: the holder signs a share that is not theirs as committed.
    const share = openShare(ctx.shares[1]!, ctx.members[1]!.secretKey);
    share[0] = share[0]! ^ 0xff;
    const tamperedSig = sign(shareBinding({ requestId: a.id, actionHash: a.actionHash, nonce: a.nonce, shareDigest: shareDigest(share) }), ctx.members[1]!.secretKey);
    const tampered = await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, { memberId: 'member-2', share: toBase64Url(share), signature: tamperedSig });
    expectError(tampered, 403, 'SHARE_COMMITMENT_MISMATCH', /member-2 \(Bea\)/);
    assert.is(tampered.body.error.details.holder, 'Bea');
    // Signed for request b, sent to a.
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, submissionOf(ctx.members, ctx.shares, 0, b)), 403, 'SHARE_SIGNATURE_INVALID', /another request/);
    // A transit change of the share breaks the holder's signature.
    const good = submissionOf(ctx.members, ctx.shares, 0, a);
    const flipped = fromBase64Url(good.share);
    flipped[3] = flipped[3]! ^ 1;
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, { ...good, share: toBase64Url(flipped) }), 403, 'SHARE_SIGNATURE_INVALID');
    // Non-member; a member id with someone else's key.
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, { ...good, memberId: 'mallory' }), 403, 'NOT_A_COMMITTEE_MEMBER');
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, { ...good, memberId: 'member-3' }), 403, 'SHARE_SIGNATURE_INVALID');
    // Accepted, then replayed.
    assert.is((await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, good)).status, 200);
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, good), 409, 'SHARE_ALREADY_RECEIVED');
    // Reset: by another MANAGER → 403; by the proposer: submissions discarded, new nonce; the old submission is refused.
    const other = await ctx.admin('POST', '/api/v1/users', { name: 'otto', role: 'MANAGER' });
    expectError(await client(ctx.sys.app, other.body.token)('POST', `/api/v1/governance/unlocks/${a.id}/reset`), 403, 'FORBIDDEN', /proposer/);
    const reset = await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/reset`);
    assert.is(reset.status, 200, reset.text);
    assert.equal(reset.body.received, []);
    assert.is.not(reset.body.nonce, a.nonce);
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, good), 403, 'SHARE_SIGNATURE_INVALID', /reset/);
    assert.is((await ctx.manager('POST', `/api/v1/governance/unlocks/${a.id}/shares`, submissionOf(ctx.members, ctx.shares, 0, reset.body))).status, 200);
    // Expired.
    ctx.clock.increment(24 * 3600 * 1000 + 1);
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${b.id}/shares`, submissionOf(ctx.members, ctx.shares, 0, b)), 409, 'UNLOCK_EXPIRED');
    // Every refusal was audited, naming the member.
    const audit = await allAudit(ctx);
    const refused = audit.body.entries.filter((e: { action: string }) => e.action === 'governance.share.refused');
    assert.ok(refused.some((e: { payload: { code: string; holder?: string } }) => e.payload.code === 'SHARE_COMMITMENT_MISMATCH' && e.payload.holder === 'Bea'));
    assert.ok(refused.some((e: { payload: { code: string } }) => e.payload.code === 'UNLOCK_EXPIRED'));
    assert.ok(audit.body.entries.some((e: { action: string }) => e.action === 'governance.unlock.reset'));
  });

  test('malformed, oversized, unknown and unauthenticated unlock requests', async (ctx) => {
    const anon = client(ctx.sys.app);
    expectError(await anon('POST', '/api/v1/governance/unlocks', { action: 'committee.change', params: {}, justification: 'x' }), 401, 'UNAUTHENTICATED');
    expectError(await anon('GET', '/api/v1/governance/unlocks/00000000-0000-4000-8000-000000000000'), 401, 'UNAUTHENTICATED');
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'drop.database', params: {}, justification: 'x' }), 400, 'BAD_REQUEST', /action/);
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'committee.change', params: {}, justification: '' }), 400, 'BAD_REQUEST', /justification/);
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'committee.change', params: [], justification: 'x' }), 400, 'BAD_REQUEST', /params/);
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'committee.change', params: { big: 'x'.repeat(20_000) }, justification: 'x' }), 400, 'BAD_REQUEST', /16 KB/);
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'committee.change', params: { big: 'x'.repeat(300_000) }, justification: 'x' }), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'committee.change', params: {}, justification: 'x', extra: 1 }), 400, 'BAD_REQUEST', /unknown field/);
    const agro = await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' });
    expectError(await client(ctx.sys.app, agro.body.token)('POST', '/api/v1/governance/unlocks', { action: 'committee.change', params: { committeeDigest: 'a'.repeat(64) }, justification: 'x' }), 403, 'FORBIDDEN', /MANAGER/);
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'tenant.forensic-lock.lift', params: { tenant: 'farm-a' }, justification: 'x' }), 400, 'BAD_REQUEST', /params.*tenant/);
    expectError(await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'tenant.stage.controlled-autonomy', params: { tenantId: 'farm-a', stage: 'PILOT' }, justification: 'x' }), 400, 'BAD_REQUEST', /params\.stage/);
    expectError(await ctx.manager('GET', '/api/v1/governance/unlocks/nope'), 404, 'NOT_FOUND');
    expectError(await ctx.manager('GET', '/api/v1/governance/unlocks?state=OPEN'), 400, 'BAD_REQUEST', /state/);
    expectError(await ctx.manager('GET', '/api/v1/governance/unlocks?limit=0'), 400, 'BAD_REQUEST', /limit/);
    expectError(await anon('GET', '/api/v1/governance/unlocks'), 401, 'UNAUTHENTICATED');
    const pending = await ctx.manager('GET', '/api/v1/governance/unlocks?state=PENDING&limit=200');
    assert.is(pending.status, 200);
    assert.ok(pending.body.items.length >= 2);
    assert.ok(pending.body.items.every((u: { state: string }) => u.state === 'PENDING'));
    const all = await ctx.manager('GET', '/api/v1/governance/unlocks?limit=2');
    assert.is(all.body.items.length, 2);
    assert.ok(all.body.items[0].createdAt >= all.body.items[1].createdAt, 'newest first');
    expectError(await ctx.manager('GET', '/api/v1/governance/unlocks/00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND');
    const req = await propose(ctx, 'committee.change', { committeeDigest: 'a'.repeat(64) });
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${req.id}/shares`, { memberId: 'member-1', share: '!!', signature: 'x' }), 400, 'BAD_REQUEST', /base64url/);
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${req.id}/shares`, { memberId: 'member-1', share: 'AAAA', signature: 'AAAA' }), 400, 'BAD_REQUEST', /33 bytes/);
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${req.id}/shares`, { memberId: 'member-1', share: 'A'.repeat(200), signature: 'x' }), 400, 'BAD_REQUEST', /share/);
    expectError(await ctx.manager('POST', `/api/v1/governance/unlocks/${req.id}/reset`, '{"a":1}'), 400, 'BAD_REQUEST', /unknown field/);
  });

  test('lifting a forensic lock with a committee unlock; the gate rejects a forged signature', async (ctx) => {
    const req = await propose(ctx, 'tenant.forensic-lock.lift', { tenantId: 'farm-a' });
    for (const i of [6, 5, 4, 3, 2]) assert.is((await submit(ctx, req, i)).status, 200);
    // Forge: overwrite the stored signature with a valid-looking one by another key — the trigger refuses to change it.
    try {
      await ctx.sys.database.db.execute(sql`update governance_unlocks set signature = ${'A'.repeat(86)} where id = ${req.id}`);
      assert.unreachable('the signature changed');
    } catch (err) {
      assert.match(String((err as Error).message) + String((err as { cause?: Error }).cause?.message ?? ''), /cannot change/);
    }
    for (const statement of [
      sql`update governance_committees set public_key = ${'A'.repeat(43)}`,
      sql`update governance_members set public_key = ${'A'.repeat(43)}`,
      sql`delete from governance_committees`,
    ]) {
      try {
        await ctx.sys.database.db.execute(statement);
        assert.unreachable('the committee changed');
      } catch (err) {
        assert.match(String((err as Error).message) + String((err as { cause?: Error }).cause?.message ?? ''), /immutable|append-only/);
      }
    }
    const events: string[] = [];
    const sub = ctx.sys.bus.subscribe('tg.evt.farm-a.>', (msg) => events.push(msg.subject));
    const lifted = await ctx.manager('DELETE', '/api/v1/tenants/farm-a/lock', { justification: 'forensics complete', unlockId: req.id });
    assert.is(lifted.status, 200, lifted.text);
    assert.is(lifted.body.forensicLock, false);
    await ctx.sys.bus.flush();
    await new Promise((r) => setTimeout(r, 20));
    sub.unsubscribe();
    assert.equal(events, ['tg.evt.farm-a.tenant.forensic-lock.lifted'], 'the console hears of it');
    const admin = { kind: 'user' as const, name: 'bootstrap', role: 'ADMIN' as const };
    try {
      await runGoverned(ctx.sys.database.db, ctx.sys.audit, admin, (tx) => ctx.sys.governance.gate.requireUnlock(tx, 'tenant.forensic-lock.lift', { tenantId: 'farm-a' }, req.id, admin));
      assert.unreachable('consumed twice');
    } catch (err) {
      assert.instance(err, GovernanceUnlockInvalidError);
    }
  });

  test('through the service: every one of the 21 subsets of 5 members unlocks; progress is published live', async (ctx) => {
    const events: Array<{ id: string; progress: string; state: string; received: unknown[] }> = [];
    const sub = ctx.sys.bus.subscribe('tg.gov.unlock.>', (msg) => events.push(JSON.parse(new TextDecoder().decode(msg.data))));
    try {
      const subsets: number[][] = [];
      for (let a = 0; a < 7; a++) for (let b = a + 1; b < 7; b++) subsets.push([0, 1, 2, 3, 4, 5, 6].filter((i) => i !== a && i !== b));
      assert.is(subsets.length, 21);
      for (const subset of subsets) {
        const req = await propose(ctx, 'committee.change', { committeeDigest: 'b'.repeat(64) });
        let last: Call | undefined;
        for (const [k, i] of subset.entries()) {
          last = await submit(ctx, req, i);
          assert.is(last.status, 200, last.text);
          assert.is(last.body.state, k < 4 ? 'PENDING' : 'UNLOCKED', `subset ${subset.join(',')} after ${k + 1}`);
        }
        assert.match(last!.body.signature, /^[A-Za-z0-9_-]{86}$/);
      }
      await ctx.sys.bus.flush();
      const forLast = events.filter((e) => e.id === events[events.length - 1]!.id);
      assert.equal(forLast.map((e) => e.progress), ['0 of 5', '1 of 5', '2 of 5', '3 of 5', '4 of 5', 'UNLOCKED']);
      assert.not.ok(JSON.stringify(events).includes('"share"'), 'events never carry a share');
    } finally {
      sub.unsubscribe();
    }
  });

  test('after a restart the shares held in memory are gone: earlier submissions are discarded (audited) and re-signed', async (ctx) => {
    const req = await propose(ctx, 'committee.change', { committeeDigest: 'c'.repeat(64) });
    for (const i of [0, 1, 2]) assert.is((await submit(ctx, req, i)).status, 200);
    // A second service on the same database stands for the restarted process.
    const { UnlockService } = await import('../../control-plane/governance/unlock-service');
    const restarted = new UnlockService(ctx.sys.database.db, ctx.sys.audit, ctx.clock, ctx.sys.registry);
    const via = { kind: 'user' as const, name: 'maria', role: 'MANAGER' as const };
    const after = await restarted.submitShare(req.id, submissionOf(ctx.members, ctx.shares, 3, req), via);
    assert.is(after.progress, '1 of 5');
    assert.equal(after.received.map((r) => r.memberId), ['member-4']);
    for (const i of [0, 1, 2]) assert.is((await restarted.submitShare(req.id, submissionOf(ctx.members, ctx.shares, i, req), via)).state, 'PENDING');
    const done = await restarted.submitShare(req.id, submissionOf(ctx.members, ctx.shares, 6, req), via);
    assert.is(done.state, 'UNLOCKED');
    await ctx.sys.audit.flush();
    const audit = await allAudit(ctx);
    const discarded = audit.body.entries.filter((e: { action: string; subject: string }) => e.action === 'governance.share.discarded' && e.subject === `unlock:${req.id}`);
    assert.is(discarded.length, 1);
    assert.equal(discarded[0].payload.members, ['member-1', 'member-2', 'member-3']);
  });

  test('the grantUnlock test helper (for suites of other locked endpoints) yields a usable unlock', async (ctx) => {
    const unlockId = await grantUnlock(ctx.manager, ctx, 'tenant.stage.controlled-autonomy', { tenantId: 'farm-a', stage: 'CONTROLLED_AUTONOMY' });
    const res = await ctx.manager('PUT', '/api/v1/tenants/farm-a/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'helper', unlockId });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.stage, 'CONTROLLED_AUTONOMY');
  });

  test('concurrent submissions: 7 at once, the key is reconstructed exactly once', async (ctx) => {
    const req = await propose(ctx, 'tenant.stage.controlled-autonomy', { tenantId: 'farm-c', stage: 'CONTROLLED_AUTONOMY' });
    const results = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => submit(ctx, req, i)));
    const ok = results.filter((r) => r.status === 200).length;
    assert.ok(ok >= 5, results.map((r) => r.text).join('\n'));
    for (const r of results.filter((x) => x.status !== 200)) expectError(r, 409, 'UNLOCK_NOT_OPEN');
    const after = await ctx.manager('GET', `/api/v1/governance/unlocks/${req.id}`);
    assert.is(after.body.state, 'UNLOCKED');
    await ctx.sys.audit.flush();
    const audit = await allAudit(ctx);
    const unlocked = audit.body.entries.filter((e: { action: string; subject: string }) => e.action === 'governance.unlock.unlocked' && e.subject === `unlock:${req.id}`);
    assert.is(unlocked.length, 1);
    assert.is(unlocked[0].payload.signers.length, 5);
  });

  test('changing the committee needs the current committee; its open unlocks die with it', async (ctx) => {
    const next = await testCommittee(5, 3);
    const { committeeDigest } = await import('../../control-plane/governance/ceremony');
    const stale = await propose(ctx, 'tenant.forensic-lock.lift', { tenantId: 'farm-c' });
    const req = await propose(ctx, 'committee.change', { committeeDigest: committeeDigest(next.committee) });
    for (const i of [0, 1, 2, 3, 4]) assert.is((await submit(ctx, req, i)).status, 200);
    // An unlock for another committee document does not install this one.
    const other = await testCommittee(5, 3);
    expectError(await ctx.admin('PUT', '/api/v1/governance/committee', { committee: other.committee, unlockId: req.id }), 403, 'GOVERNANCE_UNLOCK_INVALID');
    const installed = await ctx.admin('PUT', '/api/v1/governance/committee', { committee: next.committee, unlockId: req.id });
    assert.is(installed.status, 201, installed.text);
    assert.is(installed.body.threshold, 3);
    // The old committee's pending request takes no more shares.
    expectError(await submit(ctx, stale, 0), 409, 'UNLOCK_NOT_OPEN', /replaced/);
    const audit = await allAudit(ctx);
    assert.ok(audit.body.entries.some((e: { action: string }) => e.action === 'governance.committee.changed'));
    // Retiring the active committee behind Tollgate's back does not open the door to an unsigned install.
    await ctx.sys.database.db.execute(sql`update governance_committees set active = false`);
    const rogue = await testCommittee(3, 2);
    expectError(await ctx.admin('PUT', '/api/v1/governance/committee', { committee: rogue.committee }), 409, 'ILLEGAL_TRANSITION', /outside Tollgate/);
  });

  test('operator tokens expire', async (ctx) => {
    const u = await ctx.admin('POST', '/api/v1/users', { name: 'temp', role: 'AGRONOMIST', expiresInDays: 1 });
    assert.is(u.status, 201, u.text);
    const temp = client(ctx.sys.app, u.body.token);
    assert.is((await temp('GET', '/api/v1/tenants')).status, 200);
    ctx.clock.increment(24 * 3600 * 1000 + 1);
    expectError(await temp('GET', '/api/v1/tenants'), 401, 'UNAUTHENTICATED');
    expectError(await ctx.admin('POST', '/api/v1/users', { name: 'temp2', role: 'AGRONOMIST', expiresInDays: 0 }), 400, 'BAD_REQUEST', /expiresInDays/);
  });

  test('the reconstructed key and the plain shares never reach the logs, the database or a response', async (ctx) => {
    const plain = ctx.shares.map((f, i) => openShare(f, ctx.members[i]!.secretKey));
    const secret = await combine(plain.slice(0, 5));
    const needles = [secret, ...plain].flatMap((b) => [Buffer.from(b).toString('hex'), Buffer.from(b).toString('base64').replace(/=+$/, ''), toBase64Url(b)]);
    await ctx.sys.audit.flush();
    const tables = rowsOf<{ tablename: string }>(await ctx.sys.database.db.execute(sql`select tablename from pg_tables where schemaname = 'public'`));
    let dump = '';
    for (const { tablename } of tables) {
      const rows = rowsOf<{ j: unknown }>(await ctx.sys.database.db.execute(sql.raw(`select row_to_json(t)::text as j from "${tablename}" t`)));
      dump += rows.map((r) => String(r.j)).join('\n');
    }
    assert.ok(dump.includes('governance.unlock.unlocked'), 'the dump has the governance records');
    assert.match(ctx.logs.join('\n'), /governance unlock reached its threshold/, 'the governance logs were captured');
    assert.match(ctx.logs.join('\n'), /governance share refused/);
    const haystacks = { logs: ctx.logs.join('\n'), database: dump, responses: ctx.responses.join('\n') };
    assert.ok(haystacks.responses.length > 1000, 'responses were captured');
    for (const [where, text] of Object.entries(haystacks)) {
      for (const needle of needles) assert.not.ok(text.includes(needle), `key or share material found in ${where}`);
    }
  });

  test('every governance step is in the audit chain, which verifies', async (ctx) => {
    await ctx.sys.audit.flush();
    const report = await verifyStoredChain(ctx.sys.database.db);
    assert.ok(report.ok, JSON.stringify(report));
    const audit = await allAudit(ctx);
    const actions = new Set(audit.body.entries.map((e: { action: string }) => e.action));
    for (const a of ['governance.committee.created', 'governance.unlock.proposed', 'governance.share.accepted', 'governance.unlock.unlocked', 'governance.unlock.consumed', 'governance.unlock.reset', 'governance.share.refused', 'governance.gate.refused', 'tenant.stage.changed', 'tenant.forensic-lock.set', 'tenant.forensic-lock.lifted']) {
      assert.ok(actions.has(a), `audited: ${a}`);
    }
    const proposed = audit.body.entries.find((e: { action: string }) => e.action === 'governance.unlock.proposed');
    assert.is(proposed.actor, 'user:maria');
  });

  return test;
}

const pg = await requirePostgres();
governanceSuite('embedded PGlite', async () => ({ env: {}, cleanup: async () => undefined })).run();
if (pg) {
  governanceSuite('Postgres', async () => {
    const db = (await createTestDatabase('governance'))!;
    return { env: { DATABASE_URL: db.url }, cleanup: () => db.drop() };
  }).run();
}
