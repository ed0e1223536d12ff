import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { connect } from 'nats';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BadRequestError, DeadLetteredError, IllegalTransitionError, PayloadTooLargeError, RevisionConflictError, UnavailableError } from '../../actors/errors';
import { ActorClient } from '../../control-plane/actor-host/client';
import { ActorHost, type HostMetrics } from '../../control-plane/actor-host/host';
import { hostMetrics } from '../../control-plane/actor-host/metrics';
import { Registry } from 'prom-client';
import { encodeJson, readReply } from '../../control-plane/actor-host/protocol';
import { SqlActorStore } from '../../control-plane/adapters/sql-actor-store';
import { InProcessBus } from '../../control-plane/bus/in-process-bus';
import { NatsBus } from '../../control-plane/bus/nats-bus';
import type { ActorStore } from '../../control-plane/ports/actor-store';
import type { Bus } from '../../control-plane/ports/bus';
import { ManualClock } from '../../control-plane/ports/clock';
import type { Db } from '../../db/client';
import { rejectsA } from '../support/assert';
import { openTestDatabase, type DbKind } from '../support/databases';
import { NATS_URL, requireNats, requirePostgres } from '../support/services';
import { sequenceBehaviour, type SeqState } from '../support/test-actors';

const DAY = 86_400_000;

/** `store` with another `save` (a failing disk, another node writing first). */
function withSave(store: ActorStore, save: ActorStore['save']): ActorStore {
  return {
    load: (k, i) => store.load(k, i),
    loadMany: (k, ids) => store.loadMany(k, ids),
    save,
    pendingTimers: () => store.pendingTimers(),
    deadLetter: (...a) => store.deadLetter(...a),
  };
}
const quiet = pino({ level: 'silent' });

interface Ctx {
  metrics: Registry;
  hostMetrics: HostMetrics;
  bus: Bus;
  db: Db;
  store: ActorStore;
  clock: ManualClock;
  host: ActorHost;
  client: ActorClient;
  prefix: string;
  crashPlan: Map<string, number>;
  close(): Promise<void>;
}

function hostSuite(name: string, dbKind: DbKind, openBus: () => Promise<Bus>) {
  const test = suite<Ctx>(`actor host: ${name}`, {} as Ctx);

  const makeHost = (ctx: Ctx, store: ActorStore = ctx.store) => {
    const host = new ActorHost({
      bus: ctx.bus,
      store,
      clock: ctx.clock,
      log: quiet,
      prefix: ctx.prefix,
      passivateAfterMs: 60_000,
      backoffMs: [1, 1],
      metrics: ctx.hostMetrics,
      ports: {
        registry: async (op) => {
          if (op === 'refuse') throw new IllegalTransitionError('FAILED → CHAMPION is not a legal transition');
          return { result: { op }, events: [{ tenantId: 'acme', type: 'port.called', data: { op } }] };
        },
      },
    });
    host.register(
      sequenceBehaviour('seq', (key) => {
        const left = ctx.crashPlan.get(key) ?? 0;
        ctx.crashPlan.set(key, left - 1);
        return left > 0;
      }),
    );
    return host;
  };

  test.before(async (ctx) => {
    const opened = await openTestDatabase(dbKind, 'actors');
    if (!opened) throw new Error('database unavailable');
    ctx.db = opened.database.db;
    ctx.bus = await openBus();
    ctx.store = new SqlActorStore(ctx.db);
    ctx.clock = new ManualClock();
    ctx.prefix = `t${randomBytes(4).toString('hex')}`;
    ctx.crashPlan = new Map();
    ctx.metrics = new Registry();
    ctx.hostMetrics = hostMetrics(ctx.metrics, () => ctx.host?.resident ?? 0);
    ctx.host = makeHost(ctx);
    await ctx.host.start();
    ctx.client = new ActorClient(ctx.bus, ctx.prefix);
    ctx.close = async () => {
      await ctx.host.stop();
      await ctx.bus.close();
      await opened.close();
    };
  });
  test.after(async (ctx) => ctx.close());

  const get = (ctx: Ctx, id: string) => ctx.client.ask<SeqState>('seq', id, { type: 'get' });

  test('10,000 messages to one actor are processed in order, each persisted', async (ctx) => {
    // All 10,000 are sent at once and answered one by one (each persisted first): the last waits for all
    // the others, which takes minutes on a loaded 2-core machine.
    const replies = await Promise.all(Array.from({ length: 10_000 }, (_, n) => ctx.client.ask<{ count: number }>('seq', 'one', { type: 'seq', n }, 240_000)));
    assert.equal(replies.map((r) => r.count), Array.from({ length: 10_000 }, (_, i) => i + 1));
    const state = await get(ctx, 'one');
    assert.is(state.count, 10_000);
    assert.is(state.outOfOrder, 0);
    const snap = await ctx.store.load('seq', 'one');
    assert.is(snap!.version, 10_000);
  });

  test('1,000 actors concurrently, each in order', async (ctx) => {
    const sends: Promise<unknown>[] = [];
    for (let n = 0; n < 10; n++) for (let a = 0; a < 1000; a++) sends.push(ctx.client.ask('seq', `many-${a}`, { type: 'seq', n }, 60_000));
    await Promise.all(sends);
    for (let a = 0; a < 1000; a += 97) {
      const s = await get(ctx, `many-${a}`);
      assert.equal([s.count, s.outOfOrder, s.last], [10, 0, 9]);
    }
  });

  test('a crashing behaviour restarts from persisted state; the third crash dead-letters and the actor goes on', async (ctx) => {
    await ctx.client.ask('seq', 'crashy', { type: 'seq', n: 0 });
    ctx.crashPlan.set('twice', 2);
    assert.equal(await ctx.client.ask('seq', 'crashy', { type: 'boom', key: 'twice' }), { survived: 'twice' });
    assert.is((await get(ctx, 'crashy')).count, 2, 'applied once after two crashes');

    const dlq: unknown[] = [];
    const sub = ctx.bus.subscribe(`${ctx.prefix}.dlq.seq`, (m) => dlq.push(JSON.parse(new TextDecoder().decode(m.data))));
    await ctx.bus.flush();
    ctx.crashPlan.set('always', 99);
    await rejectsA(ctx.client.ask('seq', 'crashy', { type: 'boom', key: 'always' }), DeadLetteredError, /3 times/);
    const rows = await ctx.db.execute(sql`select actor_id, attempts, error from dead_letters where actor_id = 'crashy'`);
    const list = (rows as unknown as { rows?: unknown[] }).rows ?? (rows as unknown as unknown[]);
    assert.is(list.length, 1);
    await ctx.bus.flush();
    await new Promise((r) => setTimeout(r, 50));
    assert.is(dlq.length, 1);
    sub.unsubscribe();
    assert.equal(await ctx.client.ask('seq', 'crashy', { type: 'seq', n: 1 }), { count: 3 });
    // Two crashes survived, three that dead-lettered: all counted for /metrics.
    const text = await ctx.metrics.metrics();
    assert.match(text, /tollgate_actor_crashes_total\{kind="seq"\} 5/);
    assert.match(text, /tollgate_actor_dead_letters_total\{kind="seq"\} 1/);
  });

  test('passivate then message: the state is the same as before', async (ctx) => {
    for (let n = 0; n < 5; n++) await ctx.client.ask('seq', 'sleepy', { type: 'seq', n });
    const before = await get(ctx, 'sleepy');
    ctx.clock.increment(61_000);
    assert.ok(ctx.host.passivateIdle() >= 1);
    assert.is(ctx.host.peek('seq', 'sleepy'), undefined);
    assert.equal(await get(ctx, 'sleepy'), before);
    assert.equal(await ctx.client.ask('seq', 'sleepy', { type: 'seq', n: 5 }), { count: 6 });
  });

  test('preload rehydrates persisted actors in one pass; unknown ids start from the initial state', async (ctx) => {
    for (let i = 0; i < 30; i++) await ctx.client.ask('seq', `pre-${i}`, { type: 'seq', n: 0 });
    await ctx.host.stop();
    ctx.host = makeHost(ctx);
    const ids = Array.from({ length: 30 }, (_, i) => `pre-${i}`).concat(['pre-new']);
    await ctx.host.preload('seq', ids);
    assert.is(ctx.host.resident, 31);
    assert.is((ctx.host.peek('seq', 'pre-7') as SeqState).count, 1);
    assert.is((ctx.host.peek('seq', 'pre-new') as SeqState).count, 0);
    assert.equal(await ctx.client.ask('seq', 'pre-7', { type: 'seq', n: 1 }), { count: 2 });
  });

  test('timers are persisted, survive a restart and fire on the injected clock', async (ctx) => {
    const at = new Date(ctx.clock.now().getTime() + 3 * DAY).toISOString();
    assert.is(await ctx.client.ask('seq', 'timed', { type: 'remind', at, note: 'evaluate drift' }), 'scheduled');
    // The node stops; a new host over the same store takes over.
    await ctx.host.stop();
    ctx.host = makeHost(ctx);
    await ctx.host.start();
    ctx.clock.increment(2 * DAY);
    await ctx.host.idle();
    assert.equal((await get(ctx, 'timed')).reminders, []);
    ctx.clock.increment(1 * DAY);
    await ctx.host.idle();
    assert.equal((await get(ctx, 'timed')).reminders, ['evaluate drift']);
    assert.is((await ctx.store.pendingTimers()).filter((t) => t.actorId === 'timed').length, 0, 'a fired timer is gone');
  });

  test('bad payloads, unknown types and oversize messages get typed error replies', async (ctx) => {
    const subject = `${ctx.prefix}.seq.bad.cmd`;
    const raw = async (data: Uint8Array) => readReply((await ctx.bus.request(subject, data, { timeoutMs: 5000 })).data);
    await rejectsA(raw(new TextEncoder().encode('{not json')), BadRequestError, /not JSON/);
    await rejectsA(raw(new Uint8Array([0xff, 0xfe])), BadRequestError, /UTF-8/);
    await rejectsA(ctx.client.ask('seq', 'bad', { type: 'teleport' }), BadRequestError, /unknown message type "teleport"/);
    await rejectsA(ctx.client.ask('seq', 'bad', { type: 'seq', n: 'one' }), BadRequestError);
    await rejectsA(ctx.client.ask('seq', 'bad', { type: 'seq', n: 1, extra: true }), BadRequestError);
    await rejectsA(raw(encodeJson({ type: 'seq', n: 1, pad: 'x'.repeat(300 * 1024) })), PayloadTooLargeError);
    assert.is((await get(ctx, 'bad')).count, 0, 'nothing was applied');
  });

  test('errors from ports cross the wire as their own class; events follow success only', async (ctx) => {
    const events: string[] = [];
    const sub = ctx.bus.subscribe(`${ctx.prefix}.evt.acme.>`, (m) => events.push(m.subject));
    await ctx.bus.flush();
    assert.equal(await ctx.client.ask('seq', 'caller', { type: 'call', port: 'registry', op: 'ok' }), { op: 'ok' });
    await rejectsA(ctx.client.ask('seq', 'caller', { type: 'call', port: 'registry', op: 'refuse' }), IllegalTransitionError, /FAILED → CHAMPION/);
    await ctx.bus.flush();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events, [`${ctx.prefix}.evt.acme.port.called`]);
    sub.unsubscribe();
  });

  test('a failed persist means no success reply and no event', async (ctx) => {
    const failing = withSave(ctx.store, async () => {
      throw new Error('disk full');
    });
    await ctx.host.stop();
    ctx.host = makeHost(ctx, failing);
    const events: string[] = [];
    const sub = ctx.bus.subscribe(`${ctx.prefix}.evt.>`, (m) => events.push(m.subject));
    await ctx.bus.flush();
    await rejectsA(ctx.client.ask('seq', 'doomed', { type: 'seq', n: 0 }), UnavailableError, /disk full/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events, []);
    sub.unsubscribe();
    await ctx.host.stop();
    ctx.host = makeHost(ctx);
    assert.is((await get(ctx, 'doomed')).count, 0);
  });

  test('another node writing first, again and again: the message is redone on the fresh state each time and succeeds', async (ctx) => {
    // `writesFirst` saves made by "another node" land just before each of ours.
    let writesFirst = 6;
    const racing = withSave(ctx.store, async (kind, id, state, expected, timers) => {
      if (writesFirst-- > 0) {
        const now = await ctx.store.load(kind, id);
        const other = now ? (now.state as SeqState) : sequenceBehaviour().initial(id);
        await ctx.store.save(kind, id, { ...other, count: other.count + 1, last: other.last + 1 }, now?.version ?? 0, { set: [], cancel: [] });
      }
      return ctx.store.save(kind, id, state, expected, timers);
    });
    await ctx.host.stop();
    ctx.host = makeHost(ctx, racing);
    // Six conflicts: more than the three attempts a crashing message gets.
    const reply = await ctx.client.ask<{ count: number }>('seq', 'raced', { type: 'seq', n: 6 });
    assert.is(reply.count, 7, 'applied once, on top of the six writes it lost to');
    assert.equal(await ctx.store.load('seq', 'raced').then((s) => [(s!.state as SeqState).count, s!.version]), [7, 7]);
    // A writer that always wins: the conflict is answered after the retries, and nothing of ours is written.
    writesFirst = 1_000;
    await rejectsA(ctx.client.ask('seq', 'raced', { type: 'seq', n: 7 }), RevisionConflictError, /moved past version/);
    const after = (await ctx.store.load('seq', 'raced'))!;
    assert.is((after.state as SeqState).count, after.version, 'only the other writer wrote');
    await ctx.host.stop();
    ctx.host = makeHost(ctx);
  });

  return test;
}

const natsUp = await requireNats();
const pgUp = await requirePostgres();

hostSuite('in-process bus + PGlite', 'pglite', async () => new InProcessBus()).run();
if (natsUp && pgUp) hostSuite('NATS + Postgres', 'postgres', async () => new NatsBus(await connect({ servers: NATS_URL }))).run();
