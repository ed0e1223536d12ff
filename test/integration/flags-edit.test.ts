import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeJson } from '../../control-plane/actor-host/protocol';
import { flagsChangedSubject, type FlagChange } from '../../control-plane/flags/flag-service';
import { flagBody, goodRun } from '../support/flags';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

/** `PATCH /api/v1/flags/:key`: editing a flag's definition, never its stage (the SDK side is in flags-sdk-suite.ts). */
type Sys = Awaited<ReturnType<typeof startTestSystem>>;
type Client = ReturnType<typeof client>;
interface Ctx {
  sys: Sys;
  admin: Client;
  manager: Client;
  owner: Client;
  agronomist: Client;
  anonymous: Client;
  changes: FlagChange[];
  cleanup(): Promise<void>;
}

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  if (message) assert.match(res.body.error.message, message);
}

async function flag(ctx: Ctx, key: string) {
  return (await ctx.agronomist('GET', `/api/v1/flags/${key}`)).body;
}

async function ledgerOf(ctx: Ctx, key: string): Promise<Array<{ id: string; decision: string; approver: string; reason: string; stageFrom: number; stageTo: number; evidence: Record<string, any>; strategy: Record<string, any> }>> {
  return (await ctx.agronomist('GET', `/api/v1/flags/ledger?key=${key}`)).body.items;
}

async function audited(ctx: Ctx, key: string, action: string) {
  const out: Array<{ action: string; subject: string; actor: string; payload: Record<string, unknown> }> = [];
  for (let after = 0; ; ) {
    const page = (await ctx.admin('GET', `/api/v1/audit?after=${after}&limit=1000`)).body.entries as Array<{ seq: number; action: string; subject: string; actor: string; payload: Record<string, unknown> }>;
    out.push(...page.filter((e) => e.subject === `flag:${key}` && e.action === action));
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.seq;
  }
}

function editSuite(label: string, setup: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`flag edits (${label})`);

  test.before(async (ctx) => {
    const s = await setup();
    ctx.sys = await startTestSystem(s.env);
    ctx.cleanup = s.cleanup;
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    const token = async (name: string, role: string) => (await ctx.admin('POST', '/api/v1/users', { name, role })).body.token as string;
    ctx.manager = client(ctx.sys.app, await token('maria', 'MANAGER'));
    ctx.owner = client(ctx.sys.app, await token('olga', 'MANAGER'));
    ctx.agronomist = client(ctx.sys.app, await token('joe', 'AGRONOMIST'));
    ctx.anonymous = client(ctx.sys.app);
    ctx.changes = [];
    ctx.sys.bus.subscribe(flagsChangedSubject(s.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg'), (m) => ctx.changes.push(decodeJson(m.data) as FlagChange));
    for (const key of ['base', 'ranker']) assert.is((await ctx.manager('POST', '/api/v1/flags', flagBody(key))).status, 201);
  });

  test.after(async (ctx) => {
    await ctx.sys?.dispose();
    await ctx.cleanup?.();
  });

  test('refused before anything is written: unauthenticated, AGRONOMIST, malformed, wrong fields, the stage, oversized, unknown flag', async (ctx) => {
    const good = { expectedVersion: 1, justification: 'x', description: 'new words' };
    expectError(await ctx.anonymous('PATCH', '/api/v1/flags/ranker', good), 401, 'UNAUTHENTICATED');
    expectError(await ctx.agronomist('PATCH', '/api/v1/flags/ranker', good), 403, 'FORBIDDEN', /editing a feature flag needs the MANAGER role; joe is AGRONOMIST/);
    assert.ok((await audited(ctx, 'ranker', 'auth.refused')).some((e) => e.actor === 'user:joe'), 'the refusal is audited');
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', '{"expectedVersion": 1,'), 400, 'BAD_REQUEST', /malformed JSON/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', JSON.stringify(good), { 'content-type': 'text/plain' }), 400, 'BAD_REQUEST', /must be JSON/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, colour: 'red' }), 400, 'BAD_REQUEST', /unknown field\(s\) colour/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, stage: 3 }), 400, 'BAD_REQUEST', /stage: not editable: a stage moves only through PUT \/api\/v1\/flags\/:key\/stage/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, killed: false }), 400, 'BAD_REQUEST', /killed: not editable/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: 1, justification: 'x' }), 400, 'BAD_REQUEST', /nothing to edit/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { justification: 'x', description: 'd' }), 400, 'BAD_REQUEST', /expectedVersion/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: 1, description: 'd' }), 400, 'BAD_REQUEST', /justification/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, audience: { percentage: 12.345 } }), 400, 'BAD_REQUEST', /audience\.percentage: at most two decimals/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, audience: { percentage: 101 } }), 400, 'BAD_REQUEST', /audience\.percentage/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, profile: { name: 'p', params: {}, targetLatencyMs: -5 } }), 400, 'BAD_REQUEST', /profile\.targetLatencyMs/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, dependencies: ['Not A Key'] }), 400, 'BAD_REQUEST', /dependencies\.0: a flag key/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, description: 'x'.repeat(300_000) }), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, audience: { users: Array.from({ length: 20_000 }, (_, i) => `u${i}`) } }), 400, 'BAD_REQUEST', /audience\.users/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ghost', good), 404, 'NOT_FOUND', /no feature flag ghost/);
    expectError(await ctx.manager('PATCH', '/api/v1/flags/NOT..A%20KEY', good), 400, 'BAD_REQUEST', /not a flag key/);
    // Dependencies: checked against the other flags, the field named.
    const self = await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, dependencies: ['ranker'] });
    expectError(self, 400, 'BAD_REQUEST', /cannot depend on itself/);
    assert.is(self.body.error.details.field, 'dependencies');
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...good, dependencies: ['ghost'] }), 400, 'BAD_REQUEST', /no flag ghost/);
    const after = await flag(ctx, 'ranker');
    assert.equal([after.version, after.description, after.stage], [1, 'flag ranker', 0], 'nothing written');
    assert.is((await ledgerOf(ctx, 'ranker')).length, 1);
    assert.is((await audited(ctx, 'ranker', 'flag.edited')).length, 0);
  });

  test('an edit changes what it names, bumps the version, is a green ledger entry and audited, goes out on the bus; the stage stays', async (ctx) => {
    const before = ctx.changes.length;
    const res = await ctx.manager('PATCH', '/api/v1/flags/ranker', {
      expectedVersion: 1,
      justification: 'hand over to maria; add zed; 25 % at default-on',
      description: 'ranker v2, second try',
      owner: 'maria',
      audience: { users: ['ana', 'zed', 'zed'], percentage: 25 },
    });
    assert.is(res.status, 200, res.text);
    assert.equal(res.body.changed, ['description', 'owner', 'audience']);
    assert.is(res.body.version, 2);
    assert.is(res.body.stage, 0);
    assert.equal(res.body.audience, { users: ['ana', 'zed'], segments: ['ops'], percentage: 25 }, 'merged: segments kept, users de-duplicated');
    assert.is(res.body.owner, 'maria');
    assert.match(res.body.ledgerId, /^dec-\d{8}-edit-001$/);
    const entry = (await ledgerOf(ctx, 'ranker')).pop()!;
    assert.equal([entry.id, entry.decision, entry.approver, entry.stageFrom, entry.stageTo], [res.body.ledgerId, 'edit', 'user:maria', 0, 0]);
    assert.is(entry.reason, 'hand over to maria; add zed; 25 % at default-on');
    assert.equal(entry.evidence.before.owner, 'olga');
    assert.equal(entry.evidence.after.audience, { users: ['ana', 'zed'], segments: ['ops'], percentage: 25 });
    assert.equal(entry.strategy.audience, { users: ['ana', 'zed'], segments: ['ops'], percentage: 25 });
    const audit = await audited(ctx, 'ranker', 'flag.edited');
    assert.is(audit.length, 1);
    assert.equal([audit[0]!.actor, audit[0]!.payload.ledgerId, audit[0]!.payload.changed], ['user:maria', res.body.ledgerId, ['description', 'owner', 'audience']]);
    const deadline = Date.now() + 2_000;
    while (!ctx.changes.slice(before).some((c) => c.key === 'ranker' && c.version === 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const change = ctx.changes.slice(before).find((c) => c.key === 'ranker' && c.version === 2);
    assert.ok(change, 'published for the SDKs');
    assert.equal(change!.flag.audience.users, ['ana', 'zed']);
    const ev = (await ctx.agronomist('GET', '/api/v1/flags/evaluate?subject=zed')).body.items.find((i: { key: string }) => i.key === 'ranker');
    assert.equal([ev.value, ev.reason, ev.version], [true, 'USER_LIST', 2], 'evaluation sees it at once');
  });

  test('a replay of an applied edit is answered as it stands and writes nothing; a stale edit that would change something is 409', async (ctx) => {
    const body = { expectedVersion: 1, justification: 'hand over to maria; add zed; 25 % at default-on', description: 'ranker v2, second try', owner: 'maria', audience: { users: ['ana', 'zed', 'zed'], percentage: 25 } };
    const ledger = (await ledgerOf(ctx, 'ranker')).length;
    const before = ctx.changes.length;
    const replay = await ctx.manager('PATCH', '/api/v1/flags/ranker', body);
    assert.is(replay.status, 200, replay.text);
    assert.equal([replay.body.changed, replay.body.version, replay.body.ledgerId], [[], 2, null]);
    assert.is((await ledgerOf(ctx, 'ranker')).length, ledger);
    assert.is((await audited(ctx, 'ranker', 'flag.edited')).length, 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.is(ctx.changes.slice(before).filter((c) => c.key === 'ranker').length, 0, 'nothing published');
    const stale = await ctx.manager('PATCH', '/api/v1/flags/ranker', { ...body, description: 'something else' });
    expectError(stale, 409, 'REVISION_CONFLICT', /flag ranker is at version 2, not 1/);
    assert.equal(stale.body.error.details, { expectedVersion: 1, version: 2 });
    // Two edits against the same version at once: one wins, the other is told to read again.
    const racing = await Promise.all(['first', 'second'].map((d) => ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: 2, justification: d, description: `race ${d}` })));
    assert.equal(racing.map((r) => r.status).sort(), [200, 409], racing.map((r) => r.text).join(' | '));
    const now = await flag(ctx, 'ranker');
    assert.is(now.version, 3);
    assert.is(now.description, racing.find((r) => r.status === 200)!.body.description);
  });

  test('dependencies: a cycle and a dependency behind the flag are refused; a ready one is added', async (ctx) => {
    const ranker = await flag(ctx, 'ranker');
    assert.is((await ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: ranker.version, justification: 'needs base', dependencies: ['base'] })).status, 200);
    const base = await flag(ctx, 'base');
    const cycle = await ctx.manager('PATCH', '/api/v1/flags/base', { expectedVersion: base.version, justification: 'x', dependencies: ['ranker'] });
    expectError(cycle, 400, 'BAD_REQUEST', /dependencies: base → ranker → base would be a cycle/);
    assert.is(cycle.body.error.details.field, 'dependencies');
    // base is promoted to stage 1 (gates, owner approval by promoting); a flag at stage 0 cannot become its dependency.
    for (let i = 0; i < 3; i++) assert.is((await ctx.manager('POST', '/api/v1/flags/base/runs', goodRun(`b-${i}`))).status, 201);
    assert.is((await ctx.owner('PUT', '/api/v1/flags/base/stage', { stage: 1, justification: 'dogfood', releaseNotes: 'Base.' })).status, 200);
    assert.is((await ctx.manager('POST', '/api/v1/flags', flagBody('late'))).status, 201);
    const b1 = await flag(ctx, 'base');
    const behind = await ctx.manager('PATCH', '/api/v1/flags/base', { expectedVersion: b1.version, justification: 'x', dependencies: ['late'] });
    expectError(behind, 409, 'DEPENDENCY_NOT_READY', /flag base \(stage 1, DOGFOOD\) cannot depend on late \(stage 0\)/);
    assert.is((await flag(ctx, 'base')).version, b1.version, 'nothing written');
  });

  test('a profile edit restarts the evidence of the stage and clears the owner approvals still to come', async (ctx) => {
    for (let i = 0; i < 3; i++) assert.is((await ctx.manager('POST', '/api/v1/flags/ranker/runs', goodRun(`r-${i}`))).status, 201);
    assert.is((await ctx.manager('POST', '/api/v1/flags/ranker/approvals', { stage: 1, justification: 'go', releaseNotes: 'Ranker.' })).status, 200);
    let view = await flag(ctx, 'ranker');
    assert.is(view.nextStage.gates.find((g: { id: string }) => g.id === 'evidence.runs').value, 3);
    assert.ok(view.ownerApprovals['1']);
    const res = await ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: view.version, justification: 'deeper search', profile: { name: 'aggressive', params: { depth: 5 }, targetLatencyMs: 120 } });
    assert.is(res.status, 200, res.text);
    assert.equal(res.body.changed, ['profile']);
    assert.ok(res.body.evidenceSince);
    view = await flag(ctx, 'ranker');
    assert.is(view.nextStage.gates.find((g: { id: string }) => g.id === 'evidence.runs').value, 0, 'runs of the old profile no longer count');
    assert.equal(view.ownerApprovals, {});
    const entry = (await ledgerOf(ctx, 'ranker')).pop()!;
    assert.equal([entry.evidence.evidenceRestarted, entry.evidence.ownerApprovalsCleared], [true, ['1']]);
    expectError(await ctx.manager('PUT', '/api/v1/flags/ranker/stage', { stage: 1, justification: 'x' }), 409, 'GATE_FAILED', /evidence\.runs: 0/);
  });

  test('a killed flag: its profile is not edited (restore first), other fields are; a kill re-pins to the last edit; a restore brings back the edited profile', async (ctx) => {
    let view = await flag(ctx, 'ranker');
    assert.is((await ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: view.version, justification: 'ops only', audience: { users: ['ana'], segments: ['ops', 'pm'] } })).status, 200);
    const killed = await ctx.admin('POST', '/api/v1/flags/ranker/kill', { reason: 'bad tags' });
    assert.is(killed.status, 200, killed.text);
    assert.equal(killed.body.audience.segments, ['ops', 'pm'], 'the edit is green: the kill re-pins to it');
    assert.match(killed.body.restorePoint, /^dec-\d{8}-edit-\d{3}$/);
    view = await flag(ctx, 'ranker');
    expectError(await ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: view.version, justification: 'x', profile: { name: 'fixed', params: {} } }), 409, 'ILLEGAL_TRANSITION', /killed: .*restore it first/);
    const renamed = await ctx.manager('PATCH', '/api/v1/flags/ranker', { expectedVersion: view.version, justification: 'safer default', description: 'on hold', defaultProfile: { name: 'safe', params: { depth: 0 } } });
    assert.is(renamed.status, 200, renamed.text);
    assert.is(renamed.body.killed, true);
    assert.equal(renamed.body.profile, { name: 'safe', params: { depth: 0 } }, 'a killed flag serves its (new) default');
    const off = (await ctx.agronomist('GET', '/api/v1/flags/evaluate?subject=ana')).body.items.find((i: { key: string }) => i.key === 'ranker');
    assert.equal([off.value, off.reason, off.profile.name], [false, 'KILLED', 'safe']);
    const restored = await ctx.manager('PUT', '/api/v1/flags/ranker/stage', { stage: 0, justification: 'tags fixed' });
    assert.is(restored.status, 200, restored.text);
    assert.equal(restored.body.profile, { name: 'aggressive', params: { depth: 5 }, targetLatencyMs: 120 }, 'the last profile it had while live');
    assert.is(restored.body.defaultProfile.name, 'safe');
  });

  return test;
}

editSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined })).run();
if ((await requirePostgres()) && (await requireNats())) editSuite('Postgres + NATS', () => realServicesEnv('flagedit', { TOLLGATE_NODE_ID: 'flag-edit-node' })).run();
