import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GOVERNANCE_LOCKED_ACTIONS } from '../../actors/governance/unlock';
import { realServicesEnv } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';
import { grantUnlock, installTestCommittee, type TestCommittee } from '../support/governance';

type Call = ReturnType<typeof client>;
type Sys = Awaited<ReturnType<typeof startTestSystem>>;

const ALL = [...GOVERNANCE_LOCKED_ACTIONS].sort();
const WITHOUT_LIFT = ALL.filter((a) => a !== 'tenant.forensic-lock.lift');

/** The list of locked actions changes only by a governance-signed change. */
function lockedActionsSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<{ sys: Sys; admin: Call; manager: Call; committee: TestCommittee; cleanup(): Promise<void> }>(name);

  test.before(async (ctx) => {
    const e = await env();
    ctx.cleanup = e.cleanup;
    ctx.sys = await startTestSystem(e.env);
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    ctx.manager = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'max', role: 'MANAGER' })).body.token);
    ctx.committee = await installTestCommittee(ctx.admin);
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'vineyard', name: 'Vineyard' })).status, 201);
  });
  test.after(async (ctx) => {
    await ctx.sys.dispose();
    await ctx.cleanup();
  });

  test('by default every lockable action is locked', async ({ manager }) => {
    const res = await manager('GET', '/api/v1/governance/locked-actions');
    assert.is(res.status, 200);
    assert.equal([...res.body.lockedActions].sort(), ALL);
    assert.equal(res.body.unlocked, []);
    assert.equal(res.body.alwaysLocked, ['committee.change', 'governance.locked-actions.change']);
    assert.is(res.body.changedBy, null);
  });

  test('refusals: no unlock, bad lists, wrong role, unlock for another list', async ({ sys, admin, manager, committee }) => {
    const none = await admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: WITHOUT_LIFT, justification: 'x' });
    assert.is(none.status, 403);
    assert.is(none.body.error.code, 'GOVERNANCE_UNLOCK_REQUIRED');
    const dropsCommittee = await admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: ALL.filter((a) => a !== 'committee.change'), justification: 'x' });
    assert.is(dropsCommittee.status, 400);
    assert.match(dropsCommittee.body.error.message, /committee.change must stay locked/);
    const unknown = await admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: [...ALL, 'launch.missiles'], justification: 'x' });
    assert.is(unknown.status, 400);
    assert.match(unknown.body.error.message, /launch.missiles/);
    assert.is((await admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: 'all', justification: 'x' })).status, 400);
    assert.is((await admin('PUT', '/api/v1/governance/locked-actions', '{"lockedActions":[')).status, 400);
    // A proposal must carry the list in the canonical form the committee signs.
    const unsorted = await manager('POST', '/api/v1/governance/unlocks', { action: 'governance.locked-actions.change', params: { lockedActions: [...WITHOUT_LIFT].reverse() }, justification: 'x' });
    assert.is(unsorted.status, 400);
    assert.match(unsorted.text, /sorted and without duplicates/);
    // An unlock for one list does not authorise another.
    const other = await grantUnlock(manager, committee, 'governance.locked-actions.change', { lockedActions: ALL.filter((a) => a !== 'baseline.reset') });
    const mismatch = await admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: WITHOUT_LIFT, justification: 'x', unlockId: other });
    assert.is(mismatch.status, 403);
    assert.is(mismatch.body.error.code, 'GOVERNANCE_UNLOCK_INVALID');
    // Nor is a MANAGER enough, unlock or not.
    const byManager = await manager('PUT', '/api/v1/governance/locked-actions', { lockedActions: ALL.filter((a) => a !== 'baseline.reset'), justification: 'x', unlockId: other });
    assert.is(byManager.status, 403);
    assert.is(byManager.body.error.code, 'FORBIDDEN');
    assert.equal((await admin('GET', '/api/v1/governance/locked-actions')).body.unlocked, [], 'nothing changed');
    await sys.audit.flush();
    const entries = (await admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string }>;
    assert.not.ok(entries.some((e) => e.action === 'governance.locked-actions.changed'));
  });

  test('a signed change takes an action off the list; another puts it back', async ({ sys, admin, manager, committee }) => {
    assert.is((await admin('POST', '/api/v1/tenants/vineyard/lock', { reason: 'INC-7' })).status, 200);
    const locked = await manager('DELETE', '/api/v1/tenants/vineyard/lock', { justification: 'incident closed' });
    assert.is(locked.status, 403, 'lifting is locked by default');

    const unlockId = await grantUnlock(manager, committee, 'governance.locked-actions.change', { lockedActions: WITHOUT_LIFT });
    const changed = await admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: WITHOUT_LIFT, justification: 'lifting is routine here', unlockId });
    assert.is(changed.status, 200, changed.text);
    assert.equal(changed.body.unlocked, ['tenant.forensic-lock.lift']);
    assert.is(changed.body.changedBy, 'bootstrap');
    assert.is(changed.body.unlockId, unlockId);

    const lifted = await manager('DELETE', '/api/v1/tenants/vineyard/lock', { justification: 'incident closed' });
    assert.is(lifted.status, 200, lifted.text);
    assert.is(lifted.body.forensicLock, false);
    // Other actions stay locked.
    assert.is((await manager('PUT', '/api/v1/tenants/vineyard/stage', { stage: 'CONTROLLED_AUTONOMY', justification: 'x' })).status, 403);

    const back = await grantUnlock(manager, committee, 'governance.locked-actions.change', { lockedActions: ALL });
    assert.is((await admin('PUT', '/api/v1/governance/locked-actions', { lockedActions: ALL, justification: 'back to default', unlockId: back })).status, 200);
    assert.is((await admin('POST', '/api/v1/tenants/vineyard/lock', { reason: 'INC-8' })).status, 200);
    const again = await manager('DELETE', '/api/v1/tenants/vineyard/lock', { justification: 'x' });
    assert.is(again.status, 403);
    assert.is(again.body.error.code, 'GOVERNANCE_UNLOCK_REQUIRED');

    await sys.audit.flush();
    const entries = (await admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; payload: Record<string, unknown> }>;
    const changes = entries.filter((e) => e.action === 'governance.locked-actions.changed');
    assert.is(changes.length, 2);
    assert.equal(changes[0]!.payload.removed, ['tenant.forensic-lock.lift']);
    assert.equal(changes[1]!.payload.added, ['tenant.forensic-lock.lift']);
    const liftedEntry = entries.find((e) => e.action === 'tenant.forensic-lock.lifted');
    assert.is(liftedEntry!.payload.unlockId, null, 'lifted with the role alone while unlocked');
    assert.is((await admin('GET', '/api/v1/audit/verify')).body.ok, true);
  });

  return test;
}

lockedActionsSuite('governance-locked action list (embedded)', async () => ({ env: {}, cleanup: async () => undefined })).run();
lockedActionsSuite('governance-locked action list (postgres + nats)', () => realServicesEnv('lockedlist')).run();
