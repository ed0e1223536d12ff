import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main as cli } from '../../control-plane/cli/main';
import { mintPartnerToken } from '../../control-plane/oracle/mint-token';
import { ClusterTraffic } from '../../control-plane/oracle/cluster-traffic';
import { TrafficWindow } from '../../control-plane/oracle/traffic';
import { evaluateBreakers } from '../../actors/oracle/breakers';
import { alerts, modelVersions, oracleExposure, type ModelVersionId } from '../../db/schema';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  admin: ReturnType<typeof client>;
  manager: ReturnType<typeof client>;
  dir: string;
}
const AUD = 'tollgate-oracle';
const acme = generateKeyPairSync('ed25519');
const auditor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => {
  const j = k.export({ format: 'jwk' }) as Record<string, string>;
  return j.kty === 'OKP' ? { kty: 'OKP', crv: 'Ed25519', x: j.x } : { kty: 'EC', crv: 'P-256', x: j.x, y: j.y };
};

const test = suite<Ctx>('oracle API (in-process)', {} as Ctx);

test.before(async (ctx) => {
  ctx.sys = await startTestSystem();
  ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
  const m = await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' });
  ctx.manager = client(ctx.sys.app, m.body.token);
  ctx.dir = mkdtempSync(join(tmpdir(), 'oracle-api-'));
});
test.after(async (ctx) => {
  await ctx.sys.dispose();
  rmSync(ctx.dir, { recursive: true, force: true });
});

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  if (message) assert.match(res.body.error.message, message);
}

const now = (ctx: Ctx) => Math.floor(ctx.sys.clock.now().getTime() / 1000);
const partnerCall = (ctx: Ctx, token: string) => client(ctx.sys.app, token);
const acmeToken = (ctx: Ctx) => mintPartnerToken({ partnerId: 'acme', audience: AUD, privateKey: acme.privateKey, now: now(ctx) });
const auditorToken = (ctx: Ctx) => mintPartnerToken({ partnerId: 'auditor', audience: AUD, privateKey: auditor.privateKey, now: now(ctx) });

test('partners: ADMIN registers (201, audited), duplicates 409, MANAGER 403, strict body 400 naming the field', async (ctx) => {
  const r = await ctx.admin('POST', '/api/v1/partners', { id: 'acme', publicKeyJwk: jwk(acme.publicKey), rateLimitPerSecond: 50 });
  assert.is(r.status, 201, r.text);
  assert.equal([r.body.id, r.body.alg, r.body.internal, r.body.rateLimitPerSecond], ['acme', 'EdDSA', false, 50]);
  const a = await ctx.admin('POST', '/api/v1/partners', { id: 'auditor', publicKeyJwk: jwk(auditor.publicKey), internal: true });
  assert.is(a.status, 201, a.text);
  assert.equal([a.body.alg, a.body.internal, a.body.rateLimitPerSecond], ['ES256', true, 1000]);
  expectError(await ctx.admin('POST', '/api/v1/partners', { id: 'acme', publicKeyJwk: jwk(acme.publicKey) }), 409, 'ALREADY_EXISTS');
  expectError(await ctx.manager('POST', '/api/v1/partners', { id: 'x', publicKeyJwk: jwk(acme.publicKey) }), 403, 'FORBIDDEN');
  const bad = async (body: string, field: string) => {
    const res = await ctx.admin('POST', '/api/v1/partners', body);
    expectError(res, 400, 'BAD_REQUEST');
    assert.is(res.body.error.details?.field, field, res.text);
  };
  const key = JSON.stringify(jwk(acme.publicKey));
  await bad(`{"id":"p2","publicKeyJwk":${key},"extra":1}`, 'extra');
  await bad(`{"id":"p2","publicKeyJwk":${key},"__proto__":{"internal":true}}`, '__proto__');
  await bad(`{"id":"p2","publicKeyJwk":${key},"constructor":{}}`, 'constructor');
  await bad(`{"id":"p2","id":"p3","publicKeyJwk":${key}}`, 'id');
  await bad(`{"id":"p2","publicKeyJwk":${key},"internal":"yes"}`, 'internal');
  await bad(`{"id":"p2","publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"${'A'.repeat(43)}","d":"secret"}}`, 'publicKeyJwk.d');
  // A small-order Ed25519 point (the identity) is refused: anyone could sign for it.
  const identity = Buffer.from([1, ...new Array(31).fill(0)]).toString('base64url');
  expectError(await ctx.admin('POST', '/api/v1/partners', { id: 'p2', publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: identity } }), 400, 'BAD_REQUEST', /small-order/);
  const list = await ctx.admin('GET', '/api/v1/partners');
  assert.equal(list.body.items.map((p: { id: string }) => p.id), ['acme', 'auditor']);
  await ctx.sys.audit.flush();
  const entries = (await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string }>;
  assert.is(entries.filter((e) => e.action === 'oracle.partner.registered').length, 2);
});

test('exposure: SHADOW_SYNC refuses every partner (403), DARK_LAUNCH admits internal only; OPEN needs a governance unlock', async (ctx) => {
  assert.is((await ctx.admin('GET', '/api/v1/oracle/exposure')).body.stage, 'SHADOW_SYNC');
  expectError(await partnerCall(ctx, auditorToken(ctx))('GET', '/oracle/v1/tenants/none/snapshot'), 403, 'ORACLE_NOT_EXPOSED');
  expectError(await ctx.manager('PUT', '/api/v1/oracle/exposure', { stage: 'DARK_LAUNCH' }), 403, 'FORBIDDEN');
  expectError(await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'CANARY_1' }), 409, 'ILLEGAL_TRANSITION', /skips/);
  const d = await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'DARK_LAUNCH', reason: 'internal audit first' });
  assert.is(d.status, 200, d.text);
  assert.equal([d.body.stage, d.body.previousStage], ['DARK_LAUNCH', 'SHADOW_SYNC']);
  expectError(await partnerCall(ctx, acmeToken(ctx))('GET', '/oracle/v1/tenants/none/snapshot'), 403, 'ORACLE_NOT_EXPOSED');
  expectError(await partnerCall(ctx, auditorToken(ctx))('GET', '/oracle/v1/tenants/none/snapshot'), 404, 'NOT_FOUND');
  for (const stage of ['CANARY_1', 'CANARY_10']) assert.is((await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage })).status, 200);
  expectError(await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'OPEN' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
  expectError(await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'OPEN', unlockId: 'made-up' }), 403, 'GOVERNANCE_UNLOCK_REQUIRED');
  assert.is((await ctx.admin('GET', '/api/v1/oracle/exposure')).body.stage, 'CANARY_10', 'a refused move changes nothing');
  // With one external partner, CANARY_1 already admits it.
  const r = await partnerCall(ctx, acmeToken(ctx))('GET', '/oracle/v1/tenants/none/snapshot');
  expectError(r, 404, 'NOT_FOUND');
});

test('a breaker trip steps back one stage and raises an alert row', async (ctx) => {
  const before = (await ctx.admin('GET', '/api/v1/oracle/exposure')).body;
  const moved = await ctx.sys.oracle.exposure.trip('auth-refusals', '12 of 100 requests refused');
  assert.is(moved.stage, 'CANARY_1');
  assert.is(moved.revision, before.revision + 1);
  const rows = await ctx.sys.database.db.select().from(alerts).where(eq(alerts.kind, 'oracle.breaker.auth-refusals'));
  assert.is(rows.length, 1);
  assert.is(rows[0]!.severity, 'P2');
  assert.is(rows[0]!.dedupeKey, `oracle:oracle.breaker.auth-refusals:${moved.revision}`);
  // …and it is on the alerts stream, from which it is routed to people.
  const seen: Array<{ subject: string; kind: string }> = [];
  const consumer = await ctx.sys.streams.consume({ stream: 'tg_ALERTS', durable: 'oracle-test', ackWaitMs: 5_000 }, async (m) => {
    seen.push({ subject: m.subject, ...(JSON.parse(new TextDecoder().decode(m.data)) as { kind: string }) });
    await m.ack();
  });
  for (let i = 0; i < 100 && !seen.some((a) => a.kind === 'oracle.breaker.auth-refusals'); i++) await new Promise((r) => setTimeout(r, 20));
  await consumer.stop();
  assert.ok(seen.some((a) => a.kind === 'oracle.breaker.auth-refusals' && a.subject === 'tg.alert._system.P2'), JSON.stringify(seen));
  const [row] = await ctx.sys.database.db.select().from(oracleExposure);
  assert.is(row!.stage, 'CANARY_1');
  assert.is((await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'CANARY_10' })).status, 200);
});

test('breakers judge the whole cluster: two nodes below the traffic floor each, refusing > 5% together, trip it', async (ctx) => {
  const before = (await ctx.admin('GET', '/api/v1/oracle/exposure')).body;
  assert.is(before.stage, 'CANARY_10');
  ctx.sys.clock.increment(60_000);
  const t = ctx.sys.clock.now().getTime();
  // This node: 60 requests, 2 refused; the other node: 60 requests, 5 refused. 7 of 120 > 5%; neither alone has 100.
  for (let i = 0; i < 60; i++) ctx.sys.oracle.exposure.traffic.record(t + i, 8, i < 2 ? 401 : 200, false);
  const other = new TrafficWindow();
  for (let i = 0; i < 60; i++) other.record(t + i, 8, i < 5 ? 403 : 200, false);
  // The breakers look at complete minutes only.
  assert.is(await ctx.sys.oracle.exposure.checkBreakers(), null);
  ctx.sys.clock.increment(60_000);
  assert.is(evaluateBreakers(ctx.sys.oracle.exposure.traffic.completeMinutes(ctx.sys.clock.now().getTime())), null, 'one node alone would not trip');
  await new ClusterTraffic(ctx.sys.database.db, 'other-node').share(other, ctx.sys.clock.now().getTime());
  const moved = await ctx.sys.oracle.exposure.checkBreakers();
  assert.ok(moved, 'tripped on the sum');
  assert.is(moved!.stage, 'CANARY_1');
  assert.match(moved!.reason, /7 of 120 requests refused/);
  // Minutes before the stage change do not count again.
  assert.is(await ctx.sys.oracle.exposure.checkBreakers(), null);
  assert.is((await ctx.admin('PUT', '/api/v1/oracle/exposure', { stage: 'CANARY_10' })).status, 200);
});

async function makeChampion(ctx: Ctx, tenant: string, label: string, sha: string): Promise<string> {
  if ((await ctx.admin('GET', `/api/v1/tenants/${tenant}`)).status === 404) {
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: tenant, name: tenant, stage: 'PILOT' })).status, 201);
  }
  const m = await ctx.manager('POST', `/api/v1/tenants/${tenant}/models`, { label, owner: 'ana', featureSignature: 'ndvi', artifactSha256: sha });
  assert.is(m.status, 201, m.text);
  const id: string = m.body.id;
  const move = (to: string, rev: number) => ctx.manager('POST', `/api/v1/models/${id}/transitions`, { to, reason: `to ${to}`, idempotencyKey: `${id}-${to}`, expectedRevision: rev });
  for (const [to, rev] of [['TRAINING', 0], ['VALIDATED', 1], ['SHADOW', 2], ['CANARY', 3]] as const) assert.is((await move(to, rev)).status, 200);
  // The canary engine is another issue: its verdict is set directly.
  await ctx.sys.database.db.update(modelVersions).set({ canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, id as ModelVersionId));
  assert.is((await ctx.manager('POST', `/api/v1/models/${id}/approvals`, { decision: 'approve', justification: 'canary passed' })).status, 201);
  const c = await move('CHAMPION', 4);
  assert.is(c.status, 200, c.text);
  return id;
}

test('snapshots: signed TrustSnapshot with a proof that `tollgate oracle verify` accepts; tampering is reported', async (ctx) => {
  const sha = 'ab'.repeat(32);
  const championId = await makeChampion(ctx, 'farm-a', 'v1', sha);
  await ctx.admin('POST', '/api/v1/tenants', { id: 'farm-b', name: 'no champion' });
  const res = await ctx.sys.app.request('/oracle/v1/tenants/farm-a/snapshot', { headers: { authorization: `Bearer ${acmeToken(ctx)}` } });
  const text = await res.text();
  assert.is(res.status, 200, text);
  const snap = JSON.parse(text);
  assert.equal([snap.tenantId, snap.championId, snap.modelHash, snap.stage, snap.drift, snap.canary], ['farm-a', championId, sha, 'PILOT', null, null]);
  assert.is(snap.proof.treeSize, snap.checkpoint.treeSize);
  assert.is(snap.proof.entry.subject, `model:${championId}`);
  assert.is(snap.proof.entry.payload.to, 'CHAMPION');
  const header = res.headers.get('tollgate-signature')!;
  assert.match(header, /^kid=[A-Za-z0-9_-]+, sig=[A-Za-z0-9_-]+$/);

  const keys = join(ctx.dir, 'keys.json');
  writeFileSync(keys, JSON.stringify((await ctx.admin('GET', '/api/v1/keys')).body));
  const saved = join(ctx.dir, 'snapshot.http');
  writeFileSync(saved, `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntollgate-signature: ${header}\r\n\r\n${text}`);
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await cli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
    return { code, out, err };
  };
  const ok = await run('oracle', 'verify', saved, '--public-key', keys);
  assert.is(ok.code, 0, ok.err + ok.out);
  assert.match(ok.err, /oracle response OK/);

  // Bare body + --signature works too.
  const bare = join(ctx.dir, 'snapshot.json');
  writeFileSync(bare, text);
  assert.is((await run('oracle', 'verify', bare, '--public-key', keys, '--signature', header)).code, 0);

  // One changed byte of the body: the signature check says so.
  writeFileSync(bare, text.replace(sha, 'cd'.repeat(32)));
  const tampered = await run('oracle', 'verify', bare, '--public-key', keys, '--signature', header);
  assert.is(tampered.code, 1);
  assert.match(tampered.err, /signature does not match the body/);

  // A body re-signed by no one but with a wrong root: the proof check says so (signature also fails).
  const wrongRoot = { ...snap, checkpoint: { ...snap.checkpoint, rootHash: Buffer.alloc(32, 7).toString('base64') } };
  writeFileSync(bare, JSON.stringify(wrongRoot));
  const rootFail = await run('oracle', 'verify', bare, '--public-key', keys, '--signature', header);
  assert.is(rootFail.code, 1);
  assert.match(rootFail.out, /different root/);

  // An entry that is not the promotion: named as such.
  const other = { ...snap, proof: { ...snap.proof, entry: { ...snap.proof.entry, action: 'model.registered' } } };
  writeFileSync(bare, JSON.stringify(other));
  const notPromotion = await run('oracle', 'verify', bare, '--public-key', keys, '--signature', header);
  assert.match(notPromotion.out, /not a promotion to CHAMPION/);
  assert.match(notPromotion.out, /does not match its hash/);
});

test('batch: ≤ 100 distinct tenants against one checkpoint; unknown ones marked; bad bodies 400 naming the field', async (ctx) => {
  const call = () => partnerCall(ctx, acmeToken(ctx));
  const r = await call()('POST', '/oracle/v1/snapshots:batch', { tenantIds: ['farm-a', 'farm-b', 'nope'] });
  assert.is(r.status, 200, r.text);
  const [a, b, nope] = r.body.snapshots;
  assert.ok(a.proof && a.championId);
  assert.equal([b.championId, b.proof], [null, null]);
  assert.is(nope.error.code, 'NOT_FOUND');
  assert.equal(a.checkpoint, b.checkpoint);
  const bad = async (body: string, field: string) => {
    const res = await call()('POST', '/oracle/v1/snapshots:batch', body);
    expectError(res, 400, 'BAD_REQUEST');
    assert.is(res.body.error.details.field, field, res.text);
  };
  await bad(JSON.stringify({ tenantIds: Array.from({ length: 101 }, (_, i) => `t${i}`) }), 'tenantIds');
  // A whole batch answer verifies offline too.
  const res = await ctx.sys.app.request('/oracle/v1/snapshots:batch', { method: 'POST', headers: { authorization: `Bearer ${acmeToken(ctx)}`, 'content-type': 'application/json' }, body: '{"tenantIds":["farm-a","farm-b"]}' });
  const text = await res.text();
  const keys = join(ctx.dir, 'keys.json');
  const file = join(ctx.dir, 'batch.json');
  writeFileSync(file, text);
  let out = '';
  const code = await cli(['oracle', 'verify', file, '--public-key', keys, '--signature', res.headers.get('tollgate-signature')!], { stdout: (t) => (out += t), stderr: () => undefined });
  assert.is(code, 0, out);
  assert.is(JSON.parse(out).snapshots.length, 2);
  await bad('{"tenantIds":["farm-a","farm-a"]}', 'tenantIds');
  await bad('{"tenantIds":["farm-a"],"tenantIds":["farm-b"]}', 'tenantIds');
  await bad('{"tenantIds":["farm-a"],"more":true}', 'more');
  await bad('{"tenantIds":[1]}', 'tenantIds.0');
  await bad('{"tenantIds":["farm-a"],"__proto__":{}}', '__proto__');
  await bad('{"tenantIds":["farm-a"]', 'body');
});

test('a new champion is in the next snapshot, proven against a larger tree', async (ctx) => {
  const first = (await partnerCall(ctx, acmeToken(ctx))('GET', '/oracle/v1/tenants/farm-a/snapshot')).body;
  const second = await makeChampion(ctx, 'farm-a', 'v2', 'ef'.repeat(32));
  // A signed snapshot is re-served for up to 250 ms (the tree's catch-up interval).
  await new Promise((r) => setTimeout(r, 300));
  const next = (await partnerCall(ctx, acmeToken(ctx))('GET', '/oracle/v1/tenants/farm-a/snapshot')).body;
  assert.is(next.championId, second);
  assert.ok(next.checkpoint.treeSize > first.checkpoint.treeSize);
  assert.ok(next.proof.leafIndex > first.proof.leafIndex);
});

test('a flood of refusals is counted in full but audited by sample, with one summary per window', async (ctx) => {
  const stranger = generateKeyPairSync('ed25519');
  const forged = () => mintPartnerToken({ partnerId: 'acme', audience: AUD, privateKey: stranger.privateKey, now: now(ctx) });
  await ctx.sys.audit.flush();
  const auditCount = async (action: string) => {
    await ctx.sys.audit.flush();
    const entries = (await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; actor: string; payload: { code: string; notAudited?: number } }>;
    return entries.filter((e) => e.action === action && e.actor === 'partner:acme' && e.payload.code === 'JWT_BAD_SIGNATURE');
  };
  const before = (await auditCount('oracle.request.refused')).length;
  for (let i = 0; i < 300; i++) assert.is((await partnerCall(ctx, forged())('GET', '/oracle/v1/tenants/farm-a/snapshot')).status, 401);
  const metrics = (await client(ctx.sys.app)('GET', '/metrics')).text;
  assert.match(metrics, /tollgate_oracle_refusals_total\{partner="acme",reason="JWT_BAD_SIGNATURE"\} 300/);
  assert.is((await auditCount('oracle.request.refused')).length - before, 5);
  // The next window: the summary of what was left out is written.
  ctx.sys.clock.increment(61_000);
  await partnerCall(ctx, forged())('GET', '/oracle/v1/tenants/farm-a/snapshot');
  const summaries = await auditCount('oracle.request.refusals.sampled');
  assert.is(summaries.length, 1);
  assert.is(summaries[0]!.payload.notAudited, 295);
});

test('StateVerifier: a served model hash that disagrees with the audit log trips the exposure back with a P1', async (ctx) => {
  assert.equal(await ctx.sys.oracle.verifyState(), [], 'everything served so far agrees with the log');
  const stage = ctx.sys.oracle.exposure.current().stage;
  const snap = (await partnerCall(ctx, acmeToken(ctx))('GET', '/oracle/v1/tenants/farm-a/snapshot')).body;
  // Someone rewrites the champion's artifact hash behind the registry's back; the oracle serves it.
  await ctx.sys.database.db.update(modelVersions).set({ artifactSha256: '00'.repeat(32) }).where(eq(modelVersions.id, snap.championId));
  await new Promise((r) => setTimeout(r, 300));
  const served = (await partnerCall(ctx, acmeToken(ctx))('GET', '/oracle/v1/tenants/farm-a/snapshot')).body;
  assert.is(served.modelHash, '00'.repeat(32));
  const problems = await ctx.sys.oracle.verifyState();
  assert.is(problems.length, 1);
  assert.match(problems[0]!.problem, /audit log registered/);
  assert.is.not(ctx.sys.oracle.exposure.current().stage, stage);
  const p1 = await ctx.sys.database.db.select().from(alerts).where(eq(alerts.kind, 'oracle.breaker.state-verifier'));
  assert.is(p1.length, 1);
  assert.is(p1[0]!.severity, 'P1');
  await ctx.sys.database.db.update(modelVersions).set({ artifactSha256: snap.modelHash }).where(eq(modelVersions.id, snap.championId));
});

test('/api/v1/keys lists { kid, alg: "EdDSA", publicKeyJwk } without auth', async (ctx) => {
  const keys = await client(ctx.sys.app)('GET', '/api/v1/keys');
  assert.is(keys.status, 200);
  assert.equal(Object.keys(keys.body.keys[0]).sort(), ['alg', 'kid', 'publicKeyJwk']);
  assert.is(keys.body.keys[0].alg, 'EdDSA');
  assert.is(keys.body.keys[0].kid, ctx.sys.signer.kid);
});

test('partners with allowed audiences: tokens for this oracle refused unless it is allowed; bad lists 400', async (ctx) => {
  const eu = generateKeyPairSync('ed25519');
  const reg = await ctx.admin('POST', '/api/v1/partners', { id: 'eu-only', publicKeyJwk: jwk(eu.publicKey), audiences: ['tollgate-oracle-eu'] });
  assert.is(reg.status, 201, reg.text);
  assert.equal(reg.body.audiences, ['tollgate-oracle-eu']);
  const both = await ctx.admin('POST', '/api/v1/partners', { id: 'both', publicKeyJwk: jwk(eu.publicKey), audiences: [AUD, 'tollgate-oracle-eu'] });
  assert.is(both.status, 201, both.text);
  const token = (partnerId: string) => mintPartnerToken({ partnerId, audience: AUD, privateKey: eu.privateKey, now: now(ctx) });
  expectError(await partnerCall(ctx, token('eu-only'))('GET', '/oracle/v1/tenants/none/snapshot'), 401, 'JWT_BAD_AUDIENCE', /not allowed to call this oracle/);
  assert.is.not((await partnerCall(ctx, token('both'))('GET', '/oracle/v1/tenants/none/snapshot')).status, 401);
  for (const audiences of [[], ['a b'], ['x', 'x'], 'tollgate-oracle', new Array(17).fill(0).map((_, i) => `a${i}`)]) {
    const res = await ctx.admin('POST', '/api/v1/partners', { id: 'bad-aud', publicKeyJwk: jwk(eu.publicKey), audiences });
    expectError(res, 400, 'BAD_REQUEST');
    assert.match(res.body.error.details?.field ?? '', /^audiences/, res.text);
  }
  const listed = (await ctx.admin('GET', '/api/v1/partners')).body.items as Array<{ id: string; audiences: string[] | null }>;
  assert.equal(listed.find((p) => p.id === 'acme')!.audiences, null);
  assert.equal(listed.find((p) => p.id === 'both')!.audiences, [AUD, 'tollgate-oracle-eu']);
});

test.run();
