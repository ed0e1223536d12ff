import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { io as connect, type Socket } from 'socket.io-client';
import type { Delta, Hello, SubscribeReply } from '../../control-plane/live';
import { startLiveNode, type LiveNode } from '../support/live-node';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client } from '../support/system';

type Client = ReturnType<typeof client>;
interface Ctx {
  node: LiveNode;
  admin: Client;
  cleanup(): Promise<void>;
  sockets: Socket[];
}

const ARTIFACT = 'c'.repeat(64);

async function until<T>(check: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A console client that records every delta it gets. */
function open(ctx: Ctx, token: string | undefined, opts: { reconnection?: boolean } = {}) {
  const socket = connect(ctx.node.url, { path: '/live', transports: ['websocket'], reconnection: opts.reconnection ?? false, ...(token !== undefined ? { auth: { token } } : {}) });
  ctx.sockets.push(socket);
  const deltas: Delta[] = [];
  const ended: Array<{ code: string; message: string }> = [];
  let hello: Hello | null = null;
  socket.on('delta', (d: Delta) => deltas.push(d));
  socket.on('session.ended', (e: { code: string; message: string }) => ended.push(e));
  socket.on('hello', (h: Hello) => (hello = h));
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err: Error & { data?: unknown }) => reject(err));
  });
  const subscribe = (request: unknown) => socket.timeout(5_000).emitWithAck('subscribe', request) as Promise<SubscribeReply>;
  return { socket, deltas, ended, connected, subscribe, hello: () => hello };
}

async function transition(ctx: Ctx, id: string, to: string) {
  const model = (await ctx.admin('GET', `/api/v1/models/${id}`)).body;
  const res = await ctx.admin('POST', `/api/v1/models/${id}/transitions`, { to, reason: 'live test', idempotencyKey: `${id}-${to}`, expectedRevision: model.revision });
  assert.is(res.status, 200, res.text);
}

/** Rejects naming `what` when `p` takes longer than `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref())]);
}

function liveSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`live channel: ${name}`, {} as Ctx);

  test.before(async (ctx) => {
    const made = await env();
    ctx.cleanup = made.cleanup;
    ctx.node = await startLiveNode(made.env, { recheckMs: 200, alertPollMs: 100, bufferSize: 8 });
    ctx.admin = client(ctx.node.app, BOOTSTRAP_TOKEN);
    ctx.sockets = [];
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm', stage: 'PILOT' })).status, 201);
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'other', name: 'Other' })).status, 201);
  });

  test.after.each((ctx) => {
    for (const s of ctx.sockets.splice(0)) s.disconnect();
  });

  test.after(async (ctx) => {
    await ctx.node?.stop();
    await ctx.cleanup?.();
  });

  test('a handshake without a valid token is refused, naming the problem', async (ctx) => {
    for (const token of [undefined, '', 'not-a-real-token-at-all']) {
      const c = open(ctx, token);
      const err = await c.connected.then(() => null, (e: Error & { data?: { code: string; message: string } }) => e);
      assert.ok(err, `token ${String(token)} was accepted`);
      assert.is(err!.data?.code, 'UNAUTHENTICATED');
      assert.match(err!.message, token ? /unknown, revoked or expired/ : /missing token/);
    }
  });

  test('a bad subscription is refused with a message', async (ctx) => {
    const c = open(ctx, BOOTSTRAP_TOKEN);
    await c.connected;
    const tooMany = Array.from({ length: 1_001 }, (_, i) => `t${i}`);
    for (const bad of [null, { tenants: 'farm' }, { tenants: ['Not An Id'] }, { tenants: '*', resume: { epoch: 1, seq: -1 } }, { tenants: tooMany }]) {
      const reply = await c.subscribe(bad);
      assert.is(reply.ok, false, JSON.stringify(bad).slice(0, 80));
      if (!reply.ok) assert.is(reply.error.code, 'BAD_REQUEST');
    }
    // One snapshot at a time per connection.
    const replies = await Promise.all(Array.from({ length: 5 }, () => c.subscribe({ tenants: '*' })));
    assert.ok(replies.some((r) => r.ok), 'one is answered');
    const refused = replies.filter((r) => !r.ok);
    assert.ok(refused.length > 0 && refused.every((r) => !r.ok && r.error.code === 'RATE_LIMITED'), JSON.stringify(refused));
    // An oversized packet closes the connection rather than being read.
    const gone = new Promise<string>((resolve) => c.socket.once('disconnect', (reason) => resolve(reason)));
    c.socket.emit('subscribe', { tenants: ['x'.repeat(70_000)] });
    assert.is(await within(gone, 3_000, 'disconnect after an oversized packet'), 'transport close');
  });

  test('snapshot, then deltas in seq order carrying the new tenant row', async (ctx) => {
    const c = open(ctx, BOOTSTRAP_TOKEN);
    await c.connected;
    await until(() => c.hello(), 2_000, 'hello');
    assert.is(c.hello()!.role, 'ADMIN');
    const id = (await ctx.admin('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT })).body.id as string;
    await ctx.node.channel.settled();
    const reply = await c.subscribe({ tenants: ['farm'] });
    assert.ok(reply.ok && reply.mode === 'snapshot', JSON.stringify(reply));
    if (!reply.ok || reply.mode !== 'snapshot') return;
    assert.equal(reply.tenants.map((t) => t.id), ['farm'], 'only the subscribed tenant');
    assert.is(reply.tenants[0]!.stage, 'PILOT');
    for (const to of ['TRAINING', 'VALIDATED', 'SHADOW']) await transition(ctx, id, to);
    // An event of a tenant not subscribed to is not sent.
    await ctx.admin('POST', '/api/v1/tenants/other/models', { label: 'x', owner: 'ana', featureSignature: 'ndvi' });
    const shadowed = await until(() => c.deltas.find((d) => d.type === 'model.transitioned' && (d.data as { state: string }).state === 'SHADOW'), 5_000, 'SHADOW delta');
    assert.equal(shadowed.summary?.shadowIds, [id]);
    await ctx.node.channel.settled();
    const farm = c.deltas.filter((d) => d.tenantId === 'farm');
    assert.ok(c.deltas.every((d) => d.tenantId !== 'other'), 'no delta of another tenant');
    assert.equal(farm.filter((d) => d.type === 'model.transitioned').map((d) => (d.data as { state: string }).state), ['TRAINING', 'VALIDATED', 'SHADOW']);
    const seqs = c.deltas.map((d) => d.seq);
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), `seqs increase: ${seqs.join(',')}`);
    assert.ok(seqs[0]! > reply.seq, 'deltas come after the snapshot seq');
  });

  test('a reconnect resumes from the last seq without loss or duplicates', async (ctx) => {
    const a = open(ctx, BOOTSTRAP_TOKEN);
    await a.connected;
    const first = await a.subscribe({ tenants: '*' });
    assert.ok(first.ok);
    if (!first.ok) return;
    const id = (await ctx.admin('POST', '/api/v1/tenants/farm/models', { label: 'v2', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT })).body.id as string;
    await transition(ctx, id, 'TRAINING');
    await until(() => a.deltas.find((d) => (d.data as { state?: string })?.state === 'TRAINING' && (d.data as { id: string }).id === id), 5_000, 'TRAINING delta');
    const last = a.deltas.at(-1)!;
    a.socket.disconnect();
    await until(() => ctx.node.channel.io.of('/').sockets.size === 0, 5_000, 'the server saw the disconnect');
    // Missed while away.
    await transition(ctx, id, 'VALIDATED');
    await transition(ctx, id, 'FAILED');
    await ctx.node.channel.settled();
    const b = open(ctx, BOOTSTRAP_TOKEN);
    await b.connected;
    const resumed = await b.subscribe({ tenants: '*', resume: { epoch: last.epoch, seq: last.seq } });
    assert.ok(resumed.ok && resumed.mode === 'resume', JSON.stringify(resumed).slice(0, 300));
    if (!resumed.ok || resumed.mode !== 'resume') return;
    assert.equal(resumed.deltas.map((d) => d.seq), Array.from({ length: resumed.seq - last.seq }, (_, i) => last.seq + 1 + i), 'every missed seq once');
    const moved = resumed.deltas.filter((d) => d.type === 'model.transitioned');
    assert.equal(moved.map((d) => (d.data as { state: string }).state), ['VALIDATED', 'FAILED']);
    // Nobody followed the tenant meanwhile, so no summary was read per event; the replay's
    // last delta of the tenant carries its summary as of the resume.
    const farm = resumed.deltas.filter((d) => d.tenantId === 'farm');
    assert.ok(farm.at(-1)!.summary, 'the last replayed delta of the tenant carries its summary');
    assert.is(moved[0]!.summary, undefined, 'no summary was read for an event nobody followed');
    assert.is(farm.at(-1)!.summary!.id, 'farm');
    // Live again after the resume: the next delta follows on.
    await ctx.admin('POST', '/api/v1/tenants/farm/models', { label: 'v3', owner: 'ana', featureSignature: 'ndvi' });
    const next = await until(() => b.deltas.find((d) => d.type === 'model.registered'), 5_000, 'model.registered delta');
    assert.is(next.seq, resumed.seq + 1);
  });

  test('a resume too old for the buffer, or from another epoch, gets a snapshot', async (ctx) => {
    const c = open(ctx, BOOTSTRAP_TOKEN);
    await c.connected;
    const id = (await ctx.admin('POST', '/api/v1/tenants/other/models', { label: 'old', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT })).body.id as string;
    await ctx.node.channel.settled();
    const from = ctx.node.channel.deltas.head;
    for (const to of ['TRAINING', 'VALIDATED', 'SHADOW', 'FAILED']) await transition(ctx, id, to);
    for (let i = 0; i < 6; i++) await ctx.admin('POST', '/api/v1/tenants/other/models', { label: `filler-${i}`, owner: 'ana', featureSignature: 'ndvi' });
    await ctx.node.channel.settled();
    assert.ok(ctx.node.channel.deltas.head - from > 8, 'more deltas than the buffer holds');
    const stale = await c.subscribe({ tenants: '*', resume: { epoch: ctx.node.channel.deltas.epoch, seq: from } });
    assert.ok(stale.ok && stale.mode === 'snapshot');
    const foreign = await c.subscribe({ tenants: '*', resume: { epoch: 'another-run', seq: 1 } });
    assert.ok(foreign.ok && foreign.mode === 'snapshot');
    if (foreign.ok && foreign.mode === 'snapshot') assert.equal(foreign.tenants.map((t) => t.id), ['farm', 'other']);
  });

  test('alerts and governance progress arrive as deltas', async (ctx) => {
    const c = open(ctx, BOOTSTRAP_TOKEN);
    await c.connected;
    assert.ok((await c.subscribe({ tenants: ['farm'] })).ok);
    const { alerts } = await import('../../db/schema');
    await ctx.node.database.db.insert(alerts).values({ id: crypto.randomUUID(), tenantId: 'farm' as never, severity: 'P2', kind: 'test.alert', message: 'test', details: {}, dedupeKey: `live-${Date.now()}` });
    const count = await until(() => c.deltas.find((d) => d.type === 'alerts.count'), 5_000, 'alerts.count delta');
    assert.equal(count.data, { tenantId: 'farm', open: 1 });
  });

  test('snapshot rows carry the drift trend, accuracy change, cooldown and open alerts', async (ctx) => {
    const { driftReports, retrainBlacklist } = await import('../../db/schema');
    const db = ctx.node.database.db;
    const days = ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28'];
    for (const [i, day] of days.entries()) {
      await db.insert(driftReports).values({
        id: crypto.randomUUID(), tenantId: 'other' as never, day, score: i / 10, driftScore: i / 20, breach: i === days.length - 1,
        metrics: { models: { a: { relativeMaeDelta: 0.1 }, b: { relativeMaeDelta: -0.05 }, c: { relativeMaeDelta: null } } },
        digest: 'd'.repeat(64), kid: 'k', signature: 's',
      });
    }
    await db.insert(retrainBlacklist).values({ tenantId: 'other' as never, featureSignature: 'ndvi', until: new Date(ctx.node.clock.now().getTime() + 86_400_000), reason: 'test' });
    const c = open(ctx, BOOTSTRAP_TOKEN);
    await c.connected;
    const reply = await c.subscribe({ tenants: ['other'] });
    assert.ok(reply.ok && reply.mode === 'snapshot');
    if (!reply.ok || reply.mode !== 'snapshot') return;
    const row = reply.tenants[0]!;
    assert.equal(row.driftScores.map((d) => d.day), days.slice(-7), 'the last 7 days, oldest first');
    assert.is(row.driftScore, 0.4);
    assert.is(row.breach, true);
    assert.ok(Math.abs(row.maeDelta! - 0.025) < 1e-9, String(row.maeDelta));
    assert.ok(row.locks.cooldownUntil, 'cooldown shown');
    assert.is(row.locks.forensic, false);
  });

  test('the approvals queue lists canaries awaiting a MANAGER, and refuses bad input', async (ctx) => {
    const id = (await ctx.admin('POST', '/api/v1/tenants/farm/models', { label: 'queued', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT })).body.id as string;
    for (const to of ['TRAINING', 'VALIDATED', 'SHADOW', 'CANARY']) await transition(ctx, id, to);
    const listed = await ctx.admin('GET', '/api/v1/approvals/pending');
    assert.is(listed.status, 200, listed.text);
    const item = (listed.body.items as Array<{ modelVersionId: string; tenantStage: string; state: string; rejections: unknown[] }>).find((p) => p.modelVersionId === id);
    assert.ok(item, 'the canary is queued');
    assert.is(item!.tenantStage, 'PILOT');
    assert.equal(item!.rejections, []);
    assert.is((await ctx.admin('POST', `/api/v1/models/${id}/approvals`, { decision: 'reject', justification: 'not yet' })).status, 201);
    const rejected = (await ctx.admin('GET', '/api/v1/approvals/pending')).body.items.find((p: { modelVersionId: string }) => p.modelVersionId === id);
    assert.is(rejected.rejections[0].justification, 'not yet', 'a rejection keeps it queued, with the reason');
    assert.is((await ctx.admin('POST', `/api/v1/models/${id}/approvals`, { decision: 'approve', justification: 'fine now' })).status, 201);
    assert.not.ok((await ctx.admin('GET', '/api/v1/approvals/pending')).body.items.some((p: { modelVersionId: string }) => p.modelVersionId === id));
    const bad = await ctx.admin('GET', '/api/v1/approvals/pending?limit=lots');
    assert.is(bad.status, 400);
    assert.match(bad.body.error.message, /limit/);
    assert.is((await client(ctx.node.app)('GET', '/api/v1/approvals/pending')).status, 401);
  });

  test('a revoked token is disconnected at once, an expired one at the next check', async (ctx) => {
    const made = await ctx.admin('POST', '/api/v1/users', { name: `mia-${Date.now()}`, role: 'MANAGER' });
    assert.is(made.status, 201, made.text);
    const c = open(ctx, made.body.token);
    await c.connected;
    assert.ok((await c.subscribe({ tenants: '*' })).ok);
    const gone = new Promise<string>((resolve) => c.socket.once('disconnect', (reason) => resolve(reason)));
    const t0 = Date.now();
    assert.is((await ctx.admin('DELETE', `/api/v1/users/${made.body.name}/tokens/${made.body.tokenId}`)).status, 200);
    assert.is(await within(gone, 3_000, 'disconnect after revoke'), 'io server disconnect');
    assert.ok(Date.now() - t0 < 1_000, 'disconnected at once');
    assert.is(c.ended[0]?.code, 'UNAUTHENTICATED');
    // Reconnecting with it is refused.
    const again = open(ctx, made.body.token);
    assert.ok(await again.connected.then(() => false, () => true));

    const short = await ctx.admin('POST', '/api/v1/users', { name: `sam-${Date.now()}`, role: 'AGRONOMIST' });
    const s = open(ctx, short.body.token);
    await s.connected;
    const expired = new Promise<string>((resolve) => s.socket.once('disconnect', (reason) => resolve(reason)));
    ctx.node.clock.increment(91 * 24 * 3600 * 1000);
    assert.is(await within(expired, 3_000, 'disconnect after expiry'), 'io server disconnect');
    assert.match(s.ended[0]?.message ?? '', /revoked or has expired/);
  });

  return test;
}

liveSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined })).run();
if ((await requirePostgres()) && (await requireNats())) liveSuite('postgres + nats', () => realServicesEnv('live')).run();
