import { sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeJson } from '../../control-plane/actor-host/protocol';
import { flagsChangedSubject, type FlagChange } from '../../control-plane/flags/flag-service';
import { flagBody, goodRun } from '../support/flags';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

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

const HOUR = 3_600_000;

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  if (message) assert.match(res.body.error.message, message);
}

async function auditActions(ctx: Ctx, subject: string): Promise<Array<{ action: string; actor: string; payload: Record<string, unknown> }>> {
  const out = [];
  for (let after = 0; ; ) {
    const page = (await ctx.admin('GET', `/api/v1/audit?after=${after}&limit=1000`)).body.entries as Array<{ seq: number; action: string; subject: string; actor: string; payload: Record<string, unknown> }>;
    out.push(...page.filter((e) => e.subject === subject));
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.seq;
  }
}

async function runs(ctx: Ctx, key: string, n: number, prefix: string, over: Record<string, unknown> = {}) {
  for (let i = 0; i < n; i++) {
    const res = await ctx.manager('POST', `/api/v1/flags/${key}/runs`, goodRun(`${prefix}-${i}`, over));
    assert.is(res.status, 201, res.text);
    assert.equal(res.body.triggers, [], res.text);
  }
}

function flagSuite(label: string, setup: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`feature flags (${label})`);

  test.before(async (ctx) => {
    const s = await setup();
    ctx.sys = await startTestSystem(s.env);
    ctx.cleanup = s.cleanup;
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    ctx.manager = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' })).body.token);
    ctx.owner = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'olga', role: 'MANAGER' })).body.token);
    ctx.agronomist = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' })).body.token);
    ctx.anonymous = client(ctx.sys.app);
    ctx.changes = [];
    ctx.sys.bus.subscribe(flagsChangedSubject(s.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg'), (m) => ctx.changes.push(decodeJson(m.data) as FlagChange));
  });

  test.after(async (ctx) => {
    await ctx.sys?.dispose();
    await ctx.cleanup?.();
  });

  test('create: validated, unique, MANAGER only, audited, first ledger entry', async (ctx) => {
    const created = await ctx.manager('POST', '/api/v1/flags', flagBody('new-ranker'));
    assert.is(created.status, 201, created.text);
    assert.is(created.body.stage, 0);
    assert.is(created.body.version, 1);
    assert.is(created.body.stageName, 'INTERNAL');
    assert.is(created.body.audienceWarning, null);
    expectError(await ctx.manager('POST', '/api/v1/flags', flagBody('new-ranker')), 409, 'ALREADY_EXISTS', /new-ranker already exists/);
    expectError(await ctx.agronomist('POST', '/api/v1/flags', flagBody('other')), 403, 'FORBIDDEN', /MANAGER role; joe is AGRONOMIST/);
    expectError(await ctx.anonymous('POST', '/api/v1/flags', flagBody('other')), 401, 'UNAUTHENTICATED');
    expectError(await ctx.manager('POST', '/api/v1/flags', '{"key": "x",'), 400, 'BAD_REQUEST', /malformed JSON/);
    expectError(await ctx.manager('POST', '/api/v1/flags', { ...flagBody('other'), colour: 'red' }), 400, 'BAD_REQUEST', /unknown field\(s\) colour/);
    expectError(await ctx.manager('POST', '/api/v1/flags', flagBody('Bad Key')), 400, 'BAD_REQUEST', /key:/);
    expectError(await ctx.manager('POST', '/api/v1/flags', flagBody('other', { audience: { percentage: 12.345 } })), 400, 'BAD_REQUEST', /two decimals/);
    expectError(await ctx.manager('POST', '/api/v1/flags', flagBody('other', { dependencies: ['ghost'] })), 400, 'BAD_REQUEST', /no flag ghost/);
    expectError(await ctx.manager('POST', '/api/v1/flags', flagBody('other', { description: 'x'.repeat(300_000) })), 413, 'PAYLOAD_TOO_LARGE');
    const list = await ctx.agronomist('GET', '/api/v1/flags');
    assert.equal(list.body.items.map((f: { key: string }) => f.key), ['new-ranker'], 'no refused request wrote anything');
    const audit = await auditActions(ctx, 'flag:new-ranker');
    assert.ok(audit.some((e) => e.action === 'flag.created' && e.actor === 'user:maria'));
    const ledger = (await ctx.agronomist('GET', '/api/v1/flags/ledger?key=new-ranker')).body.items;
    assert.is(ledger.length, 1);
    assert.match(ledger[0].id, /^dec-\d{8}-create-\d{3}$/);
    assert.match(ledger[0].strategyHash, /^[0-9a-f]{64}$/);
    expectError(await ctx.agronomist('GET', '/api/v1/flags/nope'), 404, 'NOT_FOUND');
  });

  test('every write route: no token 401, malformed 400, unknown field 400, oversized 413, unknown flag 404, nothing written', async (ctx) => {
    const before = (await ctx.agronomist('GET', '/api/v1/flags/new-ranker')).body;
    const ledgerBefore = (await ctx.agronomist('GET', '/api/v1/flags/ledger')).body.items.length;
    const routes: Array<[string, string, Record<string, unknown>]> = [
      ['PUT', '/api/v1/flags/new-ranker/stage', { stage: 1, justification: 'x' }],
      ['POST', '/api/v1/flags/new-ranker/runs', goodRun('hostile')],
      ['POST', '/api/v1/flags/new-ranker/kill', { reason: 'x' }],
      ['POST', '/api/v1/flags/new-ranker/approvals', { stage: 1, justification: 'x' }],
    ];
    for (const [method, path, body] of routes) {
      expectError(await ctx.anonymous(method, path, body), 401, 'UNAUTHENTICATED');
      expectError(await ctx.owner(method, path, '{"stage": 1,'), 400, 'BAD_REQUEST', /malformed JSON/);
      expectError(await ctx.owner(method, path, JSON.stringify(body), { 'content-type': 'text/plain' }), 400, 'BAD_REQUEST', /must be JSON/);
      expectError(await ctx.owner(method, path, { ...body, extra: 1 }), 400, 'BAD_REQUEST', /unknown field\(s\) extra/);
      expectError(await ctx.owner(method, path, { ...body, pad: 'x'.repeat(300_000) }), 413, 'PAYLOAD_TOO_LARGE');
      expectError(await ctx.admin(method, path.replace('new-ranker', 'ghost'), body), 404, 'NOT_FOUND');
      expectError(await ctx.admin(method, path.replace('new-ranker', 'NOT..A KEY'), body), 400, 'BAD_REQUEST', /not a flag key/);
    }
    const after = (await ctx.agronomist('GET', '/api/v1/flags/new-ranker')).body;
    assert.is(after.version, before.version);
    assert.is(after.killed, false);
    assert.equal(after.runs, before.runs);
    assert.equal(after.ownerApprovals, {});
    assert.is((await ctx.agronomist('GET', '/api/v1/flags/ledger')).body.items.length, ledgerBefore);
  });

  test('promotion refused by the gates with their numbers, then by the checklist; allowed with owner approval, recorded', async (ctx) => {
    let res = await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 1, justification: 'dogfood' });
    expectError(res, 409, 'GATE_FAILED', /evidence\.runs: 0 \(needs >= 3 runs\)/);
    await runs(ctx, 'new-ranker', 3, 'slow', { avgLatencyMs: 120 });
    res = await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 1, justification: 'dogfood' });
    expectError(res, 409, 'GATE_FAILED', /performance\.avgLatency: 120 \(needs <= 100 ms, average of 3 run\(s\)\)/);
    assert.equal(res.body.error.details.gates.map((g: { id: string }) => g.id), ['performance.avgLatency', 'performance.p95Latency'].slice(0, res.body.error.details.gates.length));
    await runs(ctx, 'new-ranker', 3, 'good');
    const view = (await ctx.agronomist('GET', '/api/v1/flags/new-ranker')).body;
    assert.ok(view.nextStage.gates.every((g: { passed: boolean }) => g.passed), JSON.stringify(view.nextStage.gates));
    assert.equal(view.nextStage.checklist.filter((i: { done: boolean }) => !i.done).map((i: { id: string }) => i.id), ['release_notes', 'owner_approval']);
    assert.is(view.nextStage.go, false);
    res = await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 1, justification: 'dogfood' });
    expectError(res, 409, 'CHECKLIST_INCOMPLETE', /owner \(olga\) approved DOGFOOD \(waiting for olga/);
    expectError(await ctx.manager('POST', '/api/v1/flags/new-ranker/approvals', { stage: 1, justification: 'ok' }), 403, 'FORBIDDEN', /only the owner \(olga\)/);
    expectError(await ctx.owner('POST', '/api/v1/flags/new-ranker/approvals', { stage: 2, justification: 'ok' }), 409, 'ILLEGAL_TRANSITION');
    assert.is((await ctx.owner('POST', '/api/v1/flags/new-ranker/approvals', { stage: 1, justification: 'looks good', releaseNotes: 'Ranker v2 for ops.' })).status, 200);
    expectError(await ctx.agronomist('PUT', '/api/v1/flags/new-ranker/stage', { stage: 1, justification: 'x' }), 403, 'FORBIDDEN');
    expectError(await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 2, justification: 'skip' }), 409, 'ILLEGAL_TRANSITION', /one stage at a time/);
    expectError(await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 1 }), 400, 'BAD_REQUEST', /justification/);
    res = await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 1, justification: 'dogfood for ops' });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.stage, 1);
    assert.match(res.body.ledgerId, /^dec-\d{8}-promotion-001$/);
    const entry = (await ctx.agronomist('GET', '/api/v1/flags/ledger?key=new-ranker')).body.items.find((e: { id: string }) => e.id === res.body.ledgerId);
    assert.is(entry.approver, 'user:maria');
    assert.is(entry.decision, 'promotion');
    assert.is(entry.evidence.ownerApproval.by, 'user:olga');
    assert.equal(entry.evidence.runs, ['good-0', 'good-1', 'good-2']);
    assert.equal(entry.snapshot.map((s: { key: string; stage: number }) => [s.key, s.stage]), [['new-ranker', 1]]);
    const audit = await auditActions(ctx, 'flag:new-ranker');
    assert.ok(audit.some((e) => e.action === 'flag.promoted' && e.payload.ledgerId === res.body.ledgerId && e.actor === 'user:maria'));
    assert.ok(audit.filter((e) => e.action === 'flag.stage.refused').length >= 3, 'every refusal is audited');
    // A new stage needs new evidence: the runs of stage 0 do not count.
    const next = (await ctx.agronomist('GET', '/api/v1/flags/new-ranker')).body.nextStage;
    assert.is(next.gates.find((g: { id: string }) => g.id === 'evidence.runs').value, 0);
  });

  test('48 h without an incident: a reported incident blocks the promotion until the clock passes 48 h', async (ctx) => {
    await runs(ctx, 'new-ranker', 1, 'incident', { incidents: 1 });
    await runs(ctx, 'new-ranker', 2, 'after-incident');
    assert.is((await ctx.owner('POST', '/api/v1/flags/new-ranker/approvals', { stage: 2, justification: 'beta', releaseNotes: 'Beta.' })).status, 200);
    expectError(await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 2, justification: 'beta' }), 409, 'GATE_FAILED', /incidents\.clean48h: 0 \(needs >= 48 h\)/);
    ctx.sys.clock.increment(47 * HOUR);
    expectError(await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 2, justification: 'beta' }), 409, 'GATE_FAILED', /incidents\.clean48h: 47 /);
    ctx.sys.clock.increment(HOUR);
    const res = await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 2, justification: 'beta' });
    assert.is(res.status, 200, res.text);
    assert.match(res.body.ledgerId, /^dec-\d{8}-promotion-\d{3}$/);
  });

  test('runs: idempotent by runId, validated, MANAGER only', async (ctx) => {
    const first = await ctx.manager('POST', '/api/v1/flags/new-ranker/runs', goodRun('dup-1'));
    assert.is(first.status, 201, first.text);
    const again = await ctx.manager('POST', '/api/v1/flags/new-ranker/runs', goodRun('dup-1'));
    assert.is(again.status, 200, again.text);
    assert.is(again.body.duplicate, true);
    expectError(await ctx.manager('POST', '/api/v1/flags/new-ranker/runs', goodRun('dup-1', { passRate: 0.5 })), 409, 'IDEMPOTENCY_CONFLICT', /already reported with other metrics/);
    expectError(await ctx.manager('POST', '/api/v1/flags/new-ranker/runs', goodRun('bad', { passRate: 1.5 })), 400, 'BAD_REQUEST', /passRate/);
    expectError(await ctx.manager('POST', '/api/v1/flags/new-ranker/runs', { ...goodRun('bad'), baseline: undefined }), 400, 'BAD_REQUEST', /baseline/);
    expectError(await ctx.manager('POST', '/api/v1/flags/new-ranker/runs', goodRun('bad id!')), 400, 'BAD_REQUEST', /runId/);
    expectError(await ctx.agronomist('POST', '/api/v1/flags/new-ranker/runs', goodRun('joe-1')), 403, 'FORBIDDEN');
    expectError(await ctx.manager('POST', '/api/v1/flags/ghost/runs', goodRun('g-1')), 404, 'NOT_FOUND');
    const view = (await ctx.agronomist('GET', '/api/v1/flags/new-ranker')).body;
    assert.is(view.runs.filter((r: { runId: string }) => r.runId === 'dup-1').length, 1);
  });

  test('evaluate: every flag for a subject with value and reason', async (ctx) => {
    expectError(await ctx.agronomist('GET', '/api/v1/flags/evaluate'), 400, 'BAD_REQUEST', /subject is required/);
    expectError(await ctx.agronomist('GET', '/api/v1/flags/evaluate?subject=x&optIn=Not%20A%20Key'), 400, 'BAD_REQUEST', /optIn/);
    expectError(await ctx.anonymous('GET', '/api/v1/flags/evaluate?subject=x'), 401, 'UNAUTHENTICATED');
    const ev = async (q: string) => (await ctx.agronomist('GET', `/api/v1/flags/evaluate?${q}`)).body.items.find((i: { key: string }) => i.key === 'new-ranker');
    assert.equal(await ev('subject=ana'), { key: 'new-ranker', value: true, variant: 'on', profile: { name: 'aggressive', params: { depth: 3, tags: true }, targetLatencyMs: 100 }, reason: 'USER_LIST', stage: 2, version: 3 });
    assert.is((await ev('subject=zed&segment=ops')).reason, 'SEGMENT');
    assert.is((await ev('subject=zed&optIn=new-ranker')).reason, 'OPT_IN');
    assert.is((await ev('subject=zed')).value, false);
    assert.is((await ev('subject=ana&optOut=new-ranker')).reason, 'OPT_OUT');
  });

  test('dependencies: a flag goes to a stage only after what it depends on', async (ctx) => {
    assert.is((await ctx.manager('POST', '/api/v1/flags', flagBody('ranker-ui', { dependencies: ['new-ranker'], owner: 'maria' }))).status, 201);
    await runs(ctx, 'ranker-ui', 3, 'ui');
    let res = await ctx.manager('PUT', '/api/v1/flags/ranker-ui/stage', { stage: 1, justification: 'x', releaseNotes: 'UI.' });
    assert.is(res.status, 200, res.text);
    await runs(ctx, 'ranker-ui', 3, 'ui1');
    res = await ctx.manager('PUT', '/api/v1/flags/ranker-ui/stage', { stage: 2, justification: 'x', releaseNotes: 'UI beta.' });
    assert.is(res.status, 200, res.text);
    await runs(ctx, 'ranker-ui', 3, 'ui2');
    expectError(await ctx.manager('PUT', '/api/v1/flags/ranker-ui/stage', { stage: 3, justification: 'x', releaseNotes: 'UI on.' }), 409, 'DEPENDENCY_NOT_READY', /new-ranker is at stage 2/);
  });

  test('a manual rollback (a lower stage) needs no gates; ledger and audit entry', async (ctx) => {
    const res = await ctx.manager('PUT', '/api/v1/flags/ranker-ui/stage', { stage: 1, justification: 'UI regressions in beta' });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.stage, 1);
    assert.match(res.body.ledgerId, /^dec-\d{8}-rollback-\d{3}$/);
    const entry = (await ctx.agronomist('GET', '/api/v1/flags/ledger?key=ranker-ui')).body.items.pop();
    assert.equal([entry.decision, entry.stageFrom, entry.stageTo, entry.approver], ['rollback', 2, 1, 'user:maria']);
    const audit = await auditActions(ctx, 'flag:ranker-ui');
    assert.ok(audit.some((e) => e.action === 'flag.rolled-back' && e.payload.ledgerId === res.body.ledgerId));
    await runs(ctx, 'ranker-ui', 3, 'ui-back');
  });

  test('kill switch: ADMIN or owner; off at once, profile reset, re-pinned, rollback entry, audited, published', async (ctx) => {
    expectError(await ctx.agronomist('POST', '/api/v1/flags/new-ranker/kill', { reason: 'x' }), 403, 'FORBIDDEN', /ADMIN role or its owner \(olga\)/);
    expectError(await ctx.manager('POST', '/api/v1/flags/new-ranker/kill', { reason: 'x' }), 403, 'FORBIDDEN', /maria is MANAGER/);
    expectError(await ctx.owner('POST', '/api/v1/flags/new-ranker/kill', {}), 400, 'BAD_REQUEST', /reason/);
    const lastGreen = (await ctx.agronomist('GET', '/api/v1/flags/ledger?key=new-ranker')).body.items.filter((e: { decision: string }) => e.decision === 'promotion').pop();
    const before = ctx.changes.length;
    const res = await ctx.owner('POST', '/api/v1/flags/new-ranker/kill', { reason: 'wrong tags in the field' });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.killed, true);
    assert.match(res.body.ledgerId, /^dec-\d{8}-rollback-\d{3}$/);
    assert.is(res.body.restorePoint, lastGreen.id);
    assert.equal(res.body.profile, res.body.defaultProfile);
    assert.equal(res.body.impact.dependentsOff, ['ranker-ui']);
    const items = (await ctx.agronomist('GET', '/api/v1/flags/evaluate?subject=ana')).body.items;
    assert.equal(items.map((i: { key: string; value: boolean; reason: string }) => [i.key, i.value, i.reason]), [['new-ranker', false, 'KILLED'], ['ranker-ui', false, 'DEPENDENCY']]);
    expectError(await ctx.admin('POST', '/api/v1/flags/new-ranker/kill', { reason: 'again' }), 409, 'ALREADY_KILLED');
    const entry = (await ctx.agronomist('GET', '/api/v1/flags/ledger?key=new-ranker')).body.items.find((e: { id: string }) => e.id === res.body.ledgerId);
    assert.is(entry.decision, 'kill');
    assert.is(entry.reason, 'wrong tags in the field');
    assert.is(entry.approver, 'user:olga');
    assert.is(entry.evidence.impact.stageBefore, 2);
    const audit = await auditActions(ctx, 'flag:new-ranker');
    assert.ok(audit.some((e) => e.action === 'flag.killed' && e.payload.ledgerId === res.body.ledgerId && e.payload.restorePoint === lastGreen.id));
    const alerts = (await ctx.admin('GET', '/api/v1/alerts')).body.items;
    assert.ok(alerts.some((a: { kind: string; severity: string }) => a.kind === 'flag.killed' && a.severity === 'P2'));
    const deadline = Date.now() + 2_000;
    while (!ctx.changes.slice(before).some((c) => c.key === 'new-ranker' && c.flag.killed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const change = ctx.changes.slice(before).find((c) => c.key === 'new-ranker' && c.flag.killed);
    assert.ok(change, 'the kill went out on the bus');
    assert.is(change!.version, res.body.version);
    // The kill reset the profile to the default, which sets no latency target: the latency gates say so instead of "≤ -1 ms".
    const killedView = (await ctx.agronomist('GET', '/api/v1/flags/new-ranker')).body;
    assert.is(killedView.profile.targetLatencyMs, undefined);
    const perf = killedView.nextStage.gates.filter((g: { group: string }) => g.group === 'performance');
    assert.equal(perf.map((g: { id: string; passed: unknown; threshold: unknown }) => [g.id, g.passed, g.threshold]), [['performance.avgLatency', null, null], ['performance.p95Latency', null, null]]);
    for (const g of perf) assert.match(g.description, /not applicable: profile baseline has no latency target/);
    assert.not.ok(killedView.nextStage.gates.some((g: { threshold: number | null }) => g.threshold === -1), JSON.stringify(killedView.nextStage.gates));
    assert.is(killedView.nextStage.go, false, 'a killed flag is never GO');
    // Restore: back at its stage, not killed; a restore entry.
    const restored = await ctx.manager('PUT', '/api/v1/flags/new-ranker/stage', { stage: 2, justification: 'fixed the tags' });
    assert.is(restored.status, 200, restored.text);
    assert.is(restored.body.killed, false);
    assert.match(restored.body.ledgerId, /^dec-\d{8}-restore-001$/);
    assert.is(restored.body.profile.name, 'aggressive', 'a restore brings back the profile of the last green decision');
    const back = (await ctx.agronomist('GET', '/api/v1/flags/evaluate?subject=ana')).body.items.find((i: { key: string }) => i.key === 'new-ranker');
    assert.equal([back.value, back.reason, back.profile.name], [true, 'USER_LIST', 'aggressive']);
  });

  test('a profile without a latency target: performance gates not applicable (shown, recorded, not deciding); the others still decide', async (ctx) => {
    const body = flagBody('no-target', { owner: 'maria', profile: { name: 'plain', params: { depth: 2 } } });
    assert.is((await ctx.manager('POST', '/api/v1/flags', body)).status, 201);
    await runs(ctx, 'no-target', 3, 'nt', { avgLatencyMs: 400, p95LatencyMs: 900 });
    const view = (await ctx.agronomist('GET', '/api/v1/flags/no-target')).body;
    const perf = view.nextStage.gates.filter((g: { group: string }) => g.group === 'performance');
    assert.equal(perf.map((g: { passed: unknown; threshold: unknown; value: unknown }) => [g.passed, g.threshold, g.value]), [[null, null, 400], [null, null, 900]]);
    assert.match(view.nextStage.checklist.find((i: { id: string }) => i.id === 'gates_met').detail, /not applicable: performance\.avgLatency, performance\.p95Latency/);
    const res = await ctx.manager('PUT', '/api/v1/flags/no-target/stage', { stage: 1, justification: 'no latency target to hold', releaseNotes: 'Plain.' });
    assert.is(res.status, 200, res.text);
    const entry = (await ctx.agronomist('GET', '/api/v1/flags/ledger?key=no-target')).body.items.find((e: { id: string }) => e.id === res.body.ledgerId);
    assert.equal(entry.evidence.gates.filter((g: { group: string }) => g.group === 'performance').map((g: { passed: unknown; threshold: unknown }) => [g.passed, g.threshold]), [[null, null], [null, null]], 'recorded as not applicable');
    // A failing gate still refuses, and the refusal names only it.
    await runs(ctx, 'no-target', 3, 'nt1', { avgLatencyMs: 400, p95LatencyMs: 900, avgScore: 4 });
    const refused = await ctx.manager('PUT', '/api/v1/flags/no-target/stage', { stage: 2, justification: 'x', releaseNotes: 'Beta.' });
    expectError(refused, 409, 'GATE_FAILED', /quality\.avgScore: -0\.1/);
    assert.equal(refused.body.error.details.gates.map((g: { id: string }) => g.id), ['quality.avgScore']);
  });

  test('automatic triggers kill on run ingestion (latency Δ > +10 %, user-blocking report)', async (ctx) => {
    const slow = await ctx.manager('POST', '/api/v1/flags/ranker-ui/runs', goodRun('ui-slow', { avgLatencyMs: 100 }));
    assert.is(slow.status, 201, slow.text);
    assert.equal(slow.body.triggers.map((t: { id: string }) => t.id), ['latency_regression']);
    assert.match(slow.body.killed, /^dec-\d{8}-rollback-\d{3}$/);
    const entry = (await ctx.agronomist('GET', '/api/v1/flags/ledger?key=ranker-ui')).body.items.pop();
    assert.is(entry.decision, 'kill');
    assert.is(entry.approver, 'system:flag-triggers');
    assert.is(entry.evidence.automatic, true);
    assert.match(entry.reason, /average latency Δ 11\.1 %/);
    assert.is((await ctx.agronomist('GET', '/api/v1/flags/ranker-ui')).body.killed, true);
    assert.is((await ctx.manager('POST', '/api/v1/flags', flagBody('blocky', { owner: 'maria' }))).status, 201);
    const blocked = await ctx.manager('POST', '/api/v1/flags/blocky/runs', goodRun('b-1', { userBlockingReports: 2 }));
    assert.equal(blocked.body.triggers.map((t: { id: string }) => t.id), ['user_blocking_report']);
    assert.is((await ctx.agronomist('GET', '/api/v1/flags/blocky')).body.killed, true);
    assert.is((await ctx.manager('POST', '/api/v1/flags', flagBody('spiky', { owner: 'maria' }))).status, 201);
    await runs(ctx, 'spiky', 2, 'sp');
    const spike = await ctx.manager('POST', '/api/v1/flags/spiky/runs', goodRun('sp-spike', { errorRate: 0.03, timeoutRate: 0 }));
    assert.equal(spike.body.triggers.map((t: { id: string }) => t.id), ['error_spike']);
    assert.match(spike.body.triggers[0].reason, /3\.00 % \(previous 0\.60 %\)/);
    assert.is((await ctx.agronomist('GET', '/api/v1/flags/spiky')).body.killed, true);
  });

  test('ledger export (JSON, Markdown), daily report, append-only ledger', async (ctx) => {
    expectError(await ctx.agronomist('GET', '/api/v1/flags/ledger?format=xml'), 400, 'BAD_REQUEST', /json or md/);
    const json = (await ctx.agronomist('GET', '/api/v1/flags/ledger?format=json')).body.items;
    assert.ok(json.length >= 8);
    for (const e of json) assert.ok(e.id && e.decision && e.approver && e.snapshot && e.strategyHash, JSON.stringify(e));
    const page1 = (await ctx.agronomist('GET', '/api/v1/flags/ledger?limit=3')).body;
    assert.is(page1.items.length, 3);
    const page2 = (await ctx.agronomist('GET', `/api/v1/flags/ledger?limit=3&after=${page1.next}`)).body;
    assert.equal([...page1.items, ...page2.items].map((e: { id: string }) => e.id), json.slice(0, 6).map((e: { id: string }) => e.id));
    const md = await ctx.agronomist('GET', '/api/v1/flags/ledger?format=md&key=new-ranker');
    assert.match(md.headers.get('content-type') ?? '', /text\/markdown/);
    assert.match(md.text, /^# Ledger of flag new-ranker/);
    assert.match(md.text, /## dec-\d{8}-rollback-\d{3}: kill of `new-ranker`/);
    assert.match(md.text, /restore point: dec-\d{8}-promotion-\d{3}/);
    const day = ctx.sys.clock.now().toISOString().slice(0, 10);
    const report = (await ctx.agronomist('GET', `/api/v1/flags/report?day=${day}`)).body;
    const ui = report.items.find((i: { key: string }) => i.key === 'ranker-ui');
    assert.ok(ui && ui.runs >= 1, JSON.stringify(report));
    assert.equal(ui.topIssues, [{ issue: 'tag-mismatch', count: 3 * ui.runs }, { issue: 'slow-load', count: ui.runs }]);
    expectError(await ctx.agronomist('GET', '/api/v1/flags/report?day=yesterday'), 400, 'BAD_REQUEST');
    let refused = false;
    try {
      await ctx.sys.database.db.execute(sql`update flag_ledger set reason = 'rewritten'`);
    } catch {
      refused = true;
    }
    assert.ok(refused, 'the database refuses to change the ledger');
  });

  test('concurrent kills of different flags get distinct ledger ids; an owner of any role may kill', async (ctx) => {
    for (let i = 0; i < 4; i++) assert.is((await ctx.manager('POST', '/api/v1/flags', flagBody(`c-${i}`, { owner: 'joe' }))).status, 201);
    const kills = await Promise.all([0, 1, 2, 3].map((i) => ctx.agronomist('POST', `/api/v1/flags/c-${i}/kill`, { reason: `stop ${i}` })));
    for (const k of kills) assert.is(k.status, 200, k.text);
    const ids = kills.map((k) => k.body.ledgerId as string);
    assert.is(new Set(ids).size, 4, ids.join());
    for (const id of ids) assert.match(id, /^dec-\d{8}-rollback-\d{3}$/);
    const crowd = await ctx.manager('POST', '/api/v1/flags', flagBody('crowd', { audience: { users: Array.from({ length: 11 }, (_, i) => `u${i}`) } }));
    assert.is(crowd.body.audienceWarning, '11 named users is more than the 10 that INTERNAL is meant for');
  });

  return test;
}

flagSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined })).run();
if ((await requirePostgres()) && (await requireNats())) flagSuite('Postgres + NATS', () => realServicesEnv('flags', { TOLLGATE_NODE_ID: 'flags-node' })).run();
