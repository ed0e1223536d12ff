import { generateKeyPairSync, sign } from 'node:crypto';
import { and, eq, like, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, toBase64Url } from '../../control-plane/audit/format';
import { learningEvents } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  admin: ReturnType<typeof client>;
  manager: ReturnType<typeof client>;
  agronomist: ReturnType<typeof client>;
  modelId: string;
  otherModelId: string;
  prefix: string;
  cleanup(): Promise<void>;
}

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const jwk = publicKey.export({ format: 'jwk' }) as { kty: 'OKP'; crv: 'Ed25519'; x: string };
const signBatch = (body: { source: string; events: unknown[] }) => toBase64Url(sign(null, Buffer.from(canonicalJson(body)), privateKey));

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  if (message) assert.match(res.body.error.message, message);
}

async function storedCount(sys: Sys, tenantId: string): Promise<number> {
  const [r] = await sys.database.db.select({ n: sql<number>`count(*)::int` }).from(learningEvents).where(eq(learningEvents.tenantId, tenantId as TenantId));
  return r!.n;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ingestionSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`learning-event ingestion: ${name}`, {} as Ctx);
  let n = 0;
  const events = (count: number, modelId: string, extra: Record<string, unknown> = {}) =>
    Array.from({ length: count }, () => ({
      idempotencyKey: `e-${++n}`,
      modelVersionId: modelId,
      ts: '2026-01-01T00:00:00Z',
      features: { ndvi: 0.4 + (n % 10) / 100, temp: 20 + (n % 7) },
      prediction: 3.2,
      ...extra,
    }));

  test.before(async (ctx) => {
    const made = await env();
    ctx.prefix = made.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg';
    ctx.sys = await startTestSystem(made.env);
    ctx.cleanup = made.cleanup;
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    const m = await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' });
    ctx.manager = client(ctx.sys.app, m.body.token);
    const a = await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' });
    ctx.agronomist = client(ctx.sys.app, a.body.token);
    for (const id of ['farm', 'other']) assert.is((await ctx.admin('POST', '/api/v1/tenants', { id, name: id })).status, 201);
    ctx.modelId = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi,temp' })).body.id;
    ctx.otherModelId = (await ctx.manager('POST', '/api/v1/tenants/other/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi,temp' })).body.id;
  });
  test.after(async (ctx) => {
    await ctx.sys.dispose();
    await ctx.cleanup();
  });

  test('sources: ADMIN registers; duplicates, wrong roles and unusable keys are refused', async (ctx) => {
    const ok = await ctx.admin('POST', '/api/v1/sources', { id: 'probe-1', publicKeyJwk: jwk, tenantIds: ['farm'], requireSignature: true });
    assert.is(ok.status, 201, ok.text);
    expectError(await ctx.admin('POST', '/api/v1/sources', { id: 'probe-1', publicKeyJwk: jwk, tenantIds: ['farm'], requireSignature: true }), 409, 'ALREADY_EXISTS');
    expectError(await ctx.manager('POST', '/api/v1/sources', { id: 'x', tenantIds: ['farm'], requireSignature: false }), 403, 'FORBIDDEN');
    expectError(await ctx.admin('POST', '/api/v1/sources', { id: 'nokey', tenantIds: ['farm'], requireSignature: true }), 400, 'BAD_REQUEST', /publicKeyJwk/);
    expectError(await ctx.admin('POST', '/api/v1/sources', { id: 'badkey', publicKeyJwk: { ...jwk, x: 'A'.repeat(43) }, tenantIds: ['farm'], requireSignature: true }), 400, 'BAD_REQUEST');
    assert.is((await ctx.admin('POST', '/api/v1/sources', { id: 'open', tenantIds: ['farm'], requireSignature: false })).status, 201);
  });

  test('a batch is accepted, stored once, and a replay counts as duplicates', async (ctx) => {
    const batch = { events: events(50, ctx.modelId) };
    const first = await ctx.manager('POST', '/api/v1/tenants/farm/events', batch);
    assert.equal(first.body, { accepted: 50, duplicates: 0, rejected: [] }, first.text);
    const replay = await ctx.manager('POST', '/api/v1/tenants/farm/events', batch);
    assert.equal(replay.body, { accepted: 0, duplicates: 50, rejected: [] });
    await eventually(async () => (await storedCount(ctx.sys, 'farm')) === 50, '50 rows stored');
    // Later, after the stream's window, the database still knows the keys.
    const late = await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: batch.events.slice(0, 5) });
    assert.equal(late.body, { accepted: 0, duplicates: 5, rejected: [] });
    assert.is(await storedCount(ctx.sys, 'farm'), 50);
  });

  test('a prediction is required unless the serving failed (outcome error or timeout)', async (ctx) => {
    const [e] = events(1, ctx.modelId);
    const { prediction: _p, ...noPrediction } = e!;
    const bad = await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [noPrediction] });
    assert.is(bad.status, 400, bad.text);
    assert.match(bad.body.error.message, /prediction/);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ ...e, outcome: 'crashed' }] }), 400, 'BAD_REQUEST', /outcome/);
    const before = await storedCount(ctx.sys, 'farm');
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ ...e, role: 'primary' }] }), 400, 'BAD_REQUEST', /role/);
    const ok = await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ ...noPrediction, idempotencyKey: 'failed-1', outcome: 'timeout', role: 'shadow' }] });
    assert.equal(ok.body, { accepted: 1, duplicates: 0, rejected: [] }, ok.text);
    await eventually(async () => (await storedCount(ctx.sys, 'farm')) === before + 1, 'the failed serving stored');
    const [row] = await ctx.sys.database.db.select().from(learningEvents).where(eq(learningEvents.idempotencyKey, 'failed-1'));
    assert.equal([row!.outcome, row!.prediction], ['timeout', null]);
  });

  test('events that cannot be right are rejected by index; the rest go through', async (ctx) => {
    const before = await storedCount(ctx.sys, 'farm');
    const good = events(2, ctx.modelId);
    const foreign = events(1, ctx.otherModelId);
    const future = events(1, ctx.modelId, { ts: '2099-01-01T00:00:00Z' });
    const dup = { ...good[0]! };
    const res = await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [good[0], foreign[0], future[0], good[1], dup] });
    assert.is(res.body.accepted, 2);
    assert.is(res.body.duplicates, 1);
    assert.equal(res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code]), [[1, 'NOT_FOUND'], [2, 'BAD_REQUEST']]);
    await eventually(async () => (await storedCount(ctx.sys, 'farm')) === before + 2, 'the two good events stored');
  });

  test('malformed, oversized and unauthorized batches change nothing', async (ctx) => {
    const before = await storedCount(ctx.sys, 'farm');
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ ...events(1, ctx.modelId)[0], colour: 'red' }] }), 400, 'BAD_REQUEST', /events\.0.*colour/);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ ...events(1, ctx.modelId)[0], prediction: 'high' }] }), 400, 'BAD_REQUEST', /prediction/);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [] }), 400, 'BAD_REQUEST');
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: events(5001, ctx.modelId) }), 400, 'BAD_REQUEST', /5000/);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', '{"events": ['), 400, 'BAD_REQUEST', /malformed JSON/);
    const huge = JSON.stringify({ events: events(1, ctx.modelId, { segment: 'x'.repeat(100) }), pad: 'x'.repeat(9 * 1024 * 1024) });
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', huge), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await ctx.agronomist('POST', '/api/v1/tenants/farm/events', { events: events(1, ctx.modelId) }), 403, 'FORBIDDEN');
    const audit = await ctx.admin('GET', '/api/v1/audit?limit=1000');
    assert.ok(audit.body.entries.some((e: { action: string; actor: string }) => e.action === 'events.refused' && e.actor === 'user:joe'), 'the refusal is audited');
    expectError(await client(ctx.sys.app)('POST', '/api/v1/tenants/farm/events', { events: events(1, ctx.modelId) }), 401, 'UNAUTHENTICATED');
    expectError(await ctx.manager('POST', '/api/v1/tenants/ghost/events', { events: events(1, ctx.modelId) }), 404, 'NOT_FOUND');
    await new Promise((r) => setTimeout(r, 200));
    assert.is(await storedCount(ctx.sys, 'farm'), before);
  });

  test('a signing source: a good signature passes; a bad or missing one is 401, refused whole and audited', async (ctx) => {
    const before = await storedCount(ctx.sys, 'farm');
    const body = { source: 'probe-1', events: events(3, ctx.modelId) };
    const ok = await ctx.manager('POST', '/api/v1/tenants/farm/events', { ...body, signature: signBatch(body) });
    assert.equal(ok.body, { accepted: 3, duplicates: 0, rejected: [] }, ok.text);
    const other = { source: 'probe-1', events: events(3, ctx.modelId) };
    const tampered = { ...other, signature: signBatch(other), events: other.events.map((e, i) => (i === 1 ? { ...e, prediction: 99 } : e)) };
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', tampered), 401, 'UNAUTHENTICATED', /signature/);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', other), 401, 'UNAUTHENTICATED', /must sign/);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { ...other, signature: 'not-a-signature' }), 401, 'UNAUTHENTICATED');
    expectError(await ctx.manager('POST', '/api/v1/tenants/other/events', { source: 'open', events: events(1, ctx.otherModelId) }), 403, 'FORBIDDEN', /may not post/);
    expectError(await ctx.manager('POST', '/api/v1/tenants/farm/events', { source: 'nobody', events: events(1, ctx.modelId) }), 401, 'UNAUTHENTICATED', /unknown data source/);
    await eventually(async () => (await storedCount(ctx.sys, 'farm')) === before + 3, 'the signed batch stored');
    const audit = await ctx.admin('GET', '/api/v1/audit?limit=1000');
    const refused = audit.body.entries.filter((e: { action: string; payload: { source: string | null } }) => e.action === 'events.refused' && e.payload.source);
    assert.is(refused.length, 5);
    assert.match(refused[0].payload.reason, /signature does not verify/);
  });

  test('a delayed label joins its prediction', async (ctx) => {
    const [prediction] = events(1, ctx.modelId, { predictionId: 'p-1' });
    assert.is((await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [prediction] })).body.accepted, 1);
    const label = { ...prediction!, idempotencyKey: 'label-p-1', actual: 3.5 };
    assert.is((await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [label] })).body.accepted, 1);
    await eventually(async () => {
      const rows = await ctx.sys.database.db.select().from(learningEvents).where(eq(learningEvents.predictionId, 'p-1'));
      return rows.length === 2 && rows.every((r) => r.actual === 3.5);
    }, 'the label joined');
  });

  test('labels right behind their predictions on the stream join them, with batches stored concurrently', async (ctx) => {
    // 32 chunks of predictions fill one store batch; the labels' chunk starts the next, which the
    // consumer stores while the first is still being inserted: the labels must wait for it.
    const receivedAt = new Date().toISOString();
    const chunk = (events: unknown[]) => new TextEncoder().encode(JSON.stringify({ tenantId: 'farm', source: null, receivedAt, events }));
    // Big enough that the first batch's insert outlasts the consumer's 10 ms linger.
    const predictions = Array.from({ length: 32 }, (_, c) => events(100, ctx.modelId).map((e, i) => ({ ...e, predictionId: `q-${c}-${i}` })));
    const labels = predictions.flat().filter((_, i) => i % 20 === 19).map((p) => ({ ...p, idempotencyKey: `label-${p.predictionId}`, actual: 4.5 }));
    const subject = `${ctx.prefix}.learn.farm`;
    await Promise.all([...predictions.map((p, c) => ctx.sys.streams.publish(subject, chunk(p), `q-chunk-${c}`)), ctx.sys.streams.publish(subject, chunk(labels), 'q-labels')]);
    await eventually(async () => {
      const rows = await ctx.sys.database.db.select().from(learningEvents).where(and(eq(learningEvents.tenantId, 'farm' as TenantId), like(learningEvents.predictionId, 'q-%')));
      return rows.length === 3_200 + 160;
    }, 'all 3,200 predictions and 160 labels stored');
    const rows = await ctx.sys.database.db.select().from(learningEvents).where(and(eq(learningEvents.tenantId, 'farm' as TenantId), like(learningEvents.predictionId, 'q-%')));
    const labelled = new Set(labels.map((l) => l.predictionId));
    const unjoined = rows.filter((r) => !r.isLabel && labelled.has(r.predictionId!) && r.actual !== 4.5);
    assert.is(unjoined.length, 0, `${unjoined.length} predictions did not get their label`);
    assert.is(rows.filter((r) => r.isLabel).length, 160, 'every label row is marked as a label');
  });

  test('a malformed message on the stream is dropped without holding back the messages beside it', async (ctx) => {
    const before = await storedCount(ctx.sys, 'farm');
    const subject = `${ctx.prefix}.learn.farm`;
    const good = events(3, ctx.modelId);
    await ctx.sys.streams.publish(subject, new TextEncoder().encode('{"n":1}'), 'malformed-1');
    await ctx.sys.streams.publish(subject, new TextEncoder().encode(JSON.stringify({ tenantId: 'farm', source: null, receivedAt: new Date().toISOString(), events: good })), 'beside-malformed');
    await eventually(async () => (await storedCount(ctx.sys, 'farm')) === before + 3, 'the good chunk stored');
  });

  return test;
}

const pg = await requirePostgres();
const nats = await requireNats();

ingestionSuite('embedded (PGlite, table-backed stream)', async () => ({ env: {}, cleanup: async () => undefined })).run();
if (pg && nats) {
  ingestionSuite('Postgres + JetStream', () => realServicesEnv('ingest', { TOLLGATE_NODE_ID: 'ingest-node' })).run();
}
