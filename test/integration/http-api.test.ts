import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditEntry } from '../../control-plane/audit/format';
import { verifyChain } from '../../control-plane/audit/verify';
import { jwkVerifier } from '../../control-plane/adapters/ed25519-signer';
import { main as cli } from '../../control-plane/cli/main';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  admin: ReturnType<typeof client>;
  anon: ReturnType<typeof client>;
  managerToken: string;
  agronomistToken: string;
}

const test = suite<Ctx>('HTTP API', {} as Ctx);

test.before(async (ctx) => {
  ctx.sys = await startTestSystem();
  ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
  ctx.anon = client(ctx.sys.app);
  const m = await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' });
  assert.is(m.status, 201, m.text);
  ctx.managerToken = m.body.token;
  const a = await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' });
  ctx.agronomistToken = a.body.token;
});
test.after(async (ctx) => ctx.sys.dispose());

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.type(res.body?.error?.message, 'string', res.text);
  assert.is(res.body.error.code, code, res.text);
  assert.ok(res.body.error.message.length > 5, 'the message says something');
  if (message) assert.match(res.body.error.message, message);
}

test('health, readiness and metrics answer without auth', async (ctx) => {
  assert.equal((await ctx.anon('GET', '/healthz')).body, { status: 'ok' });
  const ready = await ctx.anon('GET', '/readyz');
  assert.is(ready.status, 200);
  assert.is(ready.body.dependencies['embedded-database'], 'ok');
  const metrics = await ctx.anon('GET', '/metrics');
  assert.match(metrics.text, /tollgate_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/);
});

test('no token, a malformed header or an unknown token → 401', async (ctx) => {
  expectError(await ctx.anon('GET', '/api/v1/tenants'), 401, 'UNAUTHENTICATED', /Authorization/);
  expectError(await ctx.anon('GET', '/api/v1/tenants', undefined, { authorization: 'Basic abc' }), 401, 'UNAUTHENTICATED', /Bearer/);
  expectError(await client(ctx.sys.app, 'tg_nope')('GET', '/api/v1/tenants'), 401, 'UNAUTHENTICATED', /unknown/);
});

test('the wrong role → 403, audited; nothing written', async (ctx) => {
  const joe = client(ctx.sys.app, ctx.agronomistToken);
  expectError(await joe('POST', '/api/v1/tenants', { id: 'joes', name: 'Joe' }), 403, 'FORBIDDEN', /ADMIN/);
  expectError(await client(ctx.sys.app, ctx.managerToken)('POST', '/api/v1/users', { name: 'x', role: 'ADMIN' }), 403, 'FORBIDDEN');
  expectError(await ctx.admin('GET', '/api/v1/tenants/joes'), 404, 'NOT_FOUND');
  const audit = await ctx.admin('GET', '/api/v1/audit?limit=1000');
  const refusals = audit.body.entries.filter((e: AuditEntry) => e.action === 'auth.refused');
  assert.is(refusals.length, 2);
  assert.is(refusals[0].actor, 'user:joe');
});

test('malformed JSON, unknown fields, wrong types, wrong content type → 400 naming the problem', async (ctx) => {
  expectError(await ctx.admin('POST', '/api/v1/tenants', '{"id": "a",'), 400, 'BAD_REQUEST', /malformed JSON/);
  expectError(await ctx.admin('POST', '/api/v1/tenants', { id: 'a', name: 'A', colour: 'red' }), 400, 'BAD_REQUEST', /unknown field.*colour/);
  expectError(await ctx.admin('POST', '/api/v1/tenants', { id: 42, name: 'A' }), 400, 'BAD_REQUEST', /id/);
  expectError(await ctx.admin('POST', '/api/v1/tenants', { id: 'Bad_Id', name: 'A' }), 400, 'BAD_REQUEST', /\^\[a-z0-9\]/);
  expectError(await ctx.admin('POST', '/api/v1/tenants', { id: 'a', name: 'A', stage: 'YOLO' }), 400, 'BAD_REQUEST', /stage/);
  expectError(await ctx.admin('POST', '/api/v1/tenants', 'id=a', { 'content-type': 'text/plain' }), 400, 'BAD_REQUEST', /JSON/);
  expectError(await ctx.admin('POST', '/api/v1/tenants', '[]'), 400, 'BAD_REQUEST');
  expectError(await ctx.admin('GET', '/api/v1/tenants?limit=abc'), 400, 'BAD_REQUEST', /limit/);
  assert.is((await ctx.admin('GET', '/api/v1/tenants')).body.items.length, 0, 'nothing was created');
});

test('an oversized body → 413', async (ctx) => {
  const big = JSON.stringify({ id: 'big', name: 'x'.repeat(300 * 1024) });
  expectError(await ctx.admin('POST', '/api/v1/tenants', big), 413, 'PAYLOAD_TOO_LARGE');
});

test('unknown ids and routes → 404', async (ctx) => {
  expectError(await ctx.admin('GET', '/api/v1/tenants/ghost'), 404, 'NOT_FOUND', /ghost/);
  expectError(await ctx.admin('GET', '/api/v1/models/not-a-uuid'), 404, 'NOT_FOUND');
  expectError(await ctx.admin('GET', '/api/v1/models/00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND');
  expectError(await ctx.admin('POST', '/api/v1/tenants/ghost/models', { label: 'v', owner: 'o', featureSignature: 'f' }), 404, 'NOT_FOUND');
  expectError(await ctx.admin('GET', '/api/v1/nothing-here'), 404, 'NOT_FOUND');
});

test('the registry flow: tenants, models, transitions, conflicts, approvals', async (ctx) => {
  const maria = client(ctx.sys.app, ctx.managerToken);
  // Every change goes through an actor, which publishes an event once it has committed.
  const events: string[] = [];
  const sub = ctx.sys.bus.subscribe('tg.evt.acme.>', (m) => events.push(m.subject.slice('tg.evt.acme.'.length)));
  const t = await ctx.admin('POST', '/api/v1/tenants', { id: 'acme', name: 'Acme Farms', stage: 'PILOT' });
  assert.is(t.status, 201, t.text);
  assert.equal([t.body.id, t.body.stage, t.body.championId, t.body.forensicLock], ['acme', 'PILOT', null, false]);
  expectError(await ctx.admin('POST', '/api/v1/tenants', { id: 'acme', name: 'Again' }), 409, 'ALREADY_EXISTS');

  const m = await maria('POST', '/api/v1/tenants/acme/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi,temp', artifactSha256: 'c'.repeat(64) });
  assert.is(m.status, 201, m.text);
  assert.equal([m.body.state, m.body.revision, m.body.tenantId], ['DRAFT', 0, 'acme']);
  const id: string = m.body.id;
  expectError(await maria('POST', '/api/v1/tenants/acme/models', { label: 'v1', owner: 'ana', featureSignature: 'x' }), 409, 'ALREADY_EXISTS');

  const move = (to: string, expectedRevision: number, idempotencyKey = `${to}-${expectedRevision}`) =>
    maria('POST', `/api/v1/models/${id}/transitions`, { to, reason: `to ${to}`, idempotencyKey, expectedRevision });
  expectError(await move('CHAMPION', 0), 409, 'ILLEGAL_TRANSITION', /DRAFT → CHAMPION/);
  let r = await move('TRAINING', 0);
  assert.is(r.status, 200, r.text);
  assert.equal([r.body.state, r.body.revision], ['TRAINING', 1]);
  const replay = await move('TRAINING', 0);
  assert.equal(replay.body, r.body);
  expectError(await maria('POST', `/api/v1/models/${id}/transitions`, { to: 'FAILED', reason: 'other', idempotencyKey: 'TRAINING-0', expectedRevision: 0 }), 409, 'IDEMPOTENCY_CONFLICT');
  expectError(await move('VALIDATED', 0), 409, 'REVISION_CONFLICT', /revision 1/);
  expectError(await maria('POST', `/api/v1/models/${id}/transitions`, { to: 'VALIDATED', reason: 'r', idempotencyKey: 'k', expectedRevision: -1 }), 400, 'BAD_REQUEST');
  for (const [to, rev] of [['VALIDATED', 1], ['SHADOW', 2], ['CANARY', 3]] as const) {
    r = await move(to, rev);
    assert.is(r.status, 200, r.text);
  }
  // No canary evidence yet: the guard refuses, the row stays.
  expectError(await move('CHAMPION', 4), 409, 'ILLEGAL_TRANSITION', /canary evidence/);
  const joe = client(ctx.sys.app, ctx.agronomistToken);
  expectError(await joe('POST', `/api/v1/models/${id}/approvals`, { decision: 'approve', justification: 'looks fine' }), 403, 'FORBIDDEN');
  const ap = await maria('POST', `/api/v1/models/${id}/approvals`, { decision: 'approve', justification: 'canary looked good' });
  assert.is(ap.status, 201, ap.text);
  assert.is(ap.body.approver, 'maria');
  const got = await joe('GET', `/api/v1/models/${id}`);
  assert.equal([got.body.state, got.body.revision], ['CANARY', 4]);
  const list = await joe('GET', '/api/v1/tenants/acme/models');
  assert.is(list.body.items.length, 1);
  await ctx.sys.bus.flush();
  sub.unsubscribe();
  assert.equal(events, [
    'tenant.created',
    'model.registered',
    'model.transitioned', // TRAINING (the replay publishes nothing)
    'model.transitioned',
    'model.transitioned',
    'model.transitioned',
    'model.approval',
  ]);
});

test('lists page with a cursor', async (ctx) => {
  for (const id of ['p-1', 'p-2', 'p-3']) assert.is((await ctx.admin('POST', '/api/v1/tenants', { id, name: id })).status, 201);
  const first = await ctx.admin('GET', '/api/v1/tenants?limit=2');
  assert.is(first.body.items.length, 2);
  assert.type(first.body.next, 'string');
  const second = await ctx.admin('GET', `/api/v1/tenants?limit=2&after=${first.body.next}`);
  assert.ok(second.body.items.length >= 1);
  assert.not.ok(second.body.items.some((t: { id: string }) => first.body.items.some((f: { id: string }) => f.id === t.id)));
});

test('audit: list after a sequence, verify, export that an offline verifier accepts, keys', async (ctx) => {
  const page = await ctx.admin('GET', '/api/v1/audit?after=2&limit=3');
  assert.equal(page.body.entries.map((e: AuditEntry) => e.seq), [3, 4, 5]);
  const verify = await ctx.admin('GET', '/api/v1/audit/verify');
  assert.is(verify.body.ok, true, verify.text);
  const exp = await ctx.admin('GET', '/api/v1/audit/export');
  assert.match(exp.headers.get('content-type') ?? '', /ndjson/);
  const entries: AuditEntry[] = exp.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(entries.length, verify.body.length);
  const keys = await ctx.anon('GET', '/api/v1/keys');
  assert.is(keys.status, 200);
  const verifiers = new Map(keys.body.keys.map((k: { kid: string; publicKeyJwk: never }) => [k.kid, jwkVerifier(k.publicKeyJwk)]));
  const check = (kid: string, m: Uint8Array, s: Uint8Array) => {
    const v = verifiers.get(kid) as ((m: Uint8Array, s: Uint8Array) => boolean) | undefined;
    return v ? v(m, s) : ('unknown-key' as const);
  };
  const report = verifyChain(entries, check, { length: verify.body.length, hash: verify.body.head });
  assert.ok(report.ok, report.reason);
  const tampered = entries.map((e) => ({ ...e }));
  tampered[3]!.actor = 'user:mallory';
  const bad = verifyChain(tampered, check);
  assert.is(bad.firstBadIndex, 3);

  // The offline CLI accepts exactly what the server exports and publishes.
  const dir = mkdtempSync(join(tmpdir(), 'tg-export-'));
  try {
    writeFileSync(join(dir, 'audit.jsonl'), exp.text);
    writeFileSync(join(dir, 'keys.json'), keys.text);
    writeFileSync(join(dir, 'tampered.jsonl'), tampered.map((e) => JSON.stringify(e)).join('\n'));
    const out: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t) };
    const args = (file: string) => ['audit', 'verify', join(dir, file), '--public-key', join(dir, 'keys.json'), '--head', verify.body.head, '--length', String(verify.body.length)];
    assert.is(await cli(args('audit.jsonl'), io), 0, out.join(''));
    assert.is(await cli(args('tampered.jsonl'), io), 1);
    assert.match(out.join(''), /index 3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the core durable streams exist on start and de-duplicate by message id', async (ctx) => {
  const data = new TextEncoder().encode('{"n":1}');
  const first = await ctx.sys.streams.publish('tg.learn.acme', data, 'evt-1');
  const again = await ctx.sys.streams.publish('tg.learn.acme', data, 'evt-1');
  assert.is(first.duplicate, false);
  assert.equal(again, { seq: first.seq, duplicate: true });
  assert.is((await ctx.sys.streams.publish('tg.alert.acme.p2', data, 'alert-1')).duplicate, false);
});

test('users: a created token works, a revoked one does not', async (ctx) => {
  const made = await ctx.admin('POST', '/api/v1/users', { name: 'temp', role: 'MANAGER' });
  assert.is(made.status, 201);
  const temp = client(ctx.sys.app, made.body.token);
  assert.is((await temp('GET', '/api/v1/tenants')).status, 200);
  expectError(await ctx.admin('POST', '/api/v1/users', { name: 'temp', role: 'MANAGER' }), 409, 'ALREADY_EXISTS');
  const listed = await ctx.admin('GET', '/api/v1/users');
  assert.ok(listed.body.items.some((u: { name: string }) => u.name === 'temp'));
  assert.not.ok(JSON.stringify(listed.body).includes(made.body.token), 'tokens are never listed');
  assert.is((await ctx.admin('DELETE', `/api/v1/users/temp/tokens/${made.body.tokenId}`)).status, 200);
  expectError(await temp('GET', '/api/v1/tenants'), 401, 'UNAUTHENTICATED');
  expectError(await ctx.admin('DELETE', `/api/v1/users/temp/tokens/${made.body.tokenId}`), 404, 'NOT_FOUND');
});

test.run();
