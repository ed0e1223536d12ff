import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BadRequestError, LockedError, NotFoundError, PayloadTooLargeError } from '../../actors/errors';
import { rejectsA } from '../../test/support/assert';
import type { ConsumeOptions, Consumption, DurableStreams, StreamConfig, StreamMsg } from '../ports/stream';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

const ACK_WAIT = 300;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) assert.unreachable(`timed out waiting for ${what}`);
    await tick(10);
  }
}

export interface StreamsFixture {
  streams: DurableStreams;
  /** Another adapter instance on the same backing store (a restarted process); closed with the fixture. */
  another(): Promise<DurableStreams>;
  close(): Promise<void>;
}

interface Ctx extends StreamsFixture {
  /** Per-run prefix: suites share servers. */
  P: string;
  p: string;
  created: Set<string>;
}

interface Seen {
  seq: number;
  subject: string;
  msgId: string;
  data: string;
  deliveryCount: number;
}

const seen = (m: StreamMsg): Seen => ({ seq: m.seq, subject: m.subject, msgId: m.msgId, data: dec(m.data), deliveryCount: m.deliveryCount });

/** One contract, every DurableStreams adapter: the same file runs against JetStream and the SQL store. */
export function streamsContract(name: string, open: () => Promise<StreamsFixture>) {
  const test = suite<Ctx>(`DurableStreams contract: ${name}`, {} as never);
  test.before(async (ctx) => {
    Object.assign(ctx, await open());
    const r = randomBytes(4).toString('hex');
    ctx.P = `T${r}`;
    ctx.p = `t${r}`;
    ctx.created = new Set();
  });
  test.after(async (ctx) => {
    for (const s of ctx.created) await ctx.streams.deleteStream(s).catch(() => undefined);
    await ctx.close();
  });

  /** A fresh stream for one test: `<P>_<tag>` capturing `<p>.<tag>.>`. */
  async function stream(ctx: Ctx, tag: string, extra: Partial<StreamConfig> = {}): Promise<{ name: string; subj: (s: string) => string }> {
    const config: StreamConfig = { name: `${ctx.P}_${tag}`, subjects: [`${ctx.p}.${tag}.>`], duplicateWindowMs: 60_000, ...extra };
    ctx.created.add(config.name);
    await ctx.streams.ensureStream(config);
    return { name: config.name, subj: (s) => `${ctx.p}.${tag}.${s}` };
  }

  async function publishN(s: DurableStreams, subj: (s: string) => string, n: number, from = 1): Promise<void> {
    for (let i = from; i < from + n; i++) await s.publish(subj(`m${i}`), enc(`d${i}`), `id-${i}`);
  }

  /** Consumes, recording every delivery; `decide` says what to do with each one (default ack). */
  async function record(
    s: DurableStreams,
    options: ConsumeOptions,
    decide: (m: StreamMsg) => 'ack' | 'nak' | 'throw' | 'ignore' = () => 'ack',
  ): Promise<{ got: Seen[]; acked: number[]; c: Consumption }> {
    const got: Seen[] = [];
    const acked: number[] = [];
    const c = await s.consume(options, async (m) => {
      got.push(seen(m));
      const what = decide(m);
      if (what === 'ack') {
        await m.ack();
        acked.push(m.seq);
      } else if (what === 'nak') m.nak();
      else if (what === 'throw') throw new Error('handler failed');
    });
    return { got, acked, c };
  }

  test('ensureStream is idempotent and applies a changed config', async (ctx) => {
    const { name, subj } = await stream(ctx, 'ensure');
    await ctx.streams.ensureStream({ name, subjects: [`${ctx.p}.ensure.>`], duplicateWindowMs: 60_000 });
    assert.equal(await ctx.streams.publish(subj('a'), enc('x'), 'k1'), { seq: 1, duplicate: false });
    await ctx.streams.ensureStream({ name, subjects: [`${ctx.p}.ensure.>`], duplicateWindowMs: 60_000 });
    // Changing the config keeps the messages and the sequence.
    await ctx.streams.ensureStream({ name, subjects: [`${ctx.p}.ensure.>`, `${ctx.p}.ensure2`], duplicateWindowMs: 30_000, maxAgeMs: 3_600_000 });
    assert.equal(await ctx.streams.publish(`${ctx.p}.ensure2`, enc('y'), 'k2'), { seq: 2, duplicate: false });
    assert.equal(await ctx.streams.publish(subj('a'), enc('x'), 'k1'), { seq: 1, duplicate: true });
  });

  test('the same msgId published twice is stored once', async (ctx) => {
    const { name, subj } = await stream(ctx, 'dedup');
    assert.equal(await ctx.streams.publish(subj('a'), enc('first'), 'evt-1'), { seq: 1, duplicate: false });
    assert.equal(await ctx.streams.publish(subj('a'), enc('second'), 'evt-2'), { seq: 2, duplicate: false });
    assert.equal(await ctx.streams.publish(subj('b'), enc('again'), 'evt-1'), { seq: 1, duplicate: true });
    assert.equal(await ctx.streams.publish(subj('c'), enc('third'), 'evt-3'), { seq: 3, duplicate: false });
    const r = await record(ctx.streams, { stream: name, durable: 'd', ackWaitMs: ACK_WAIT });
    await waitFor('3 messages', () => r.acked.length === 3);
    await tick(100);
    await r.c.stop();
    assert.equal(
      r.got.map((m) => [m.seq, m.msgId, m.data]),
      [
        [1, 'evt-1', 'first'],
        [2, 'evt-2', 'second'],
        [3, 'evt-3', 'third'],
      ],
    );
  });

  test('concurrent publishers get gapless sequences; concurrent duplicates are stored once', async (ctx) => {
    const { subj } = await stream(ctx, 'conc');
    const acks = await Promise.all(Array.from({ length: 60 }, (_, i) => ctx.streams.publish(subj(`w${i % 3}`), enc(String(i)), `c-${i}`)));
    assert.equal(acks.map((a) => a.seq).sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1));
    assert.ok(acks.every((a) => !a.duplicate));
    const dups = await Promise.all(Array.from({ length: 10 }, () => ctx.streams.publish(subj('x'), enc('same'), 'same-id')));
    assert.is(dups.filter((a) => !a.duplicate).length, 1);
    assert.ok(dups.every((a) => a.seq === 61));
  });

  test('messages arrive in stream order with their subject, data and msgId; explicit acks', async (ctx) => {
    const { name, subj } = await stream(ctx, 'order');
    await publishN(ctx.streams, subj, 50);
    const r = await record(ctx.streams, { stream: name, durable: 'd', ackWaitMs: ACK_WAIT });
    await waitFor('50 acks', () => r.acked.length === 50);
    await publishN(ctx.streams, subj, 10, 51); // published while consuming: picked up promptly
    await waitFor('60 acks', () => r.acked.length === 60, 2_000);
    await tick(ACK_WAIT + 200); // nothing comes back: every message was acked
    await r.c.stop();
    assert.equal(
      r.got,
      Array.from({ length: 60 }, (_, i) => ({ seq: i + 1, subject: subj(`m${i + 1}`), msgId: `id-${i + 1}`, data: `d${i + 1}`, deliveryCount: 1 })),
    );
  });

  test('a nak\'d or thrown message is redelivered with deliveryCount 2', async (ctx) => {
    const { name, subj } = await stream(ctx, 'nak');
    await publishN(ctx.streams, subj, 3);
    const r = await record(ctx.streams, { stream: name, durable: 'd', ackWaitMs: 5_000 }, (m) =>
      m.deliveryCount > 1 ? 'ack' : m.seq === 1 ? 'nak' : m.seq === 2 ? 'throw' : 'ack',
    );
    await waitFor('3 acks', () => r.acked.length === 3, 3_000); // well before the 5 s ack wait
    await r.c.stop();
    const bySeq = (seq: number) => r.got.filter((m) => m.seq === seq).map((m) => m.deliveryCount);
    assert.equal(bySeq(1), [1, 2]);
    assert.equal(bySeq(2), [1, 2]);
    assert.equal(bySeq(3), [1]);
    assert.equal([...r.acked].sort(), [1, 2, 3]);
  });

  test('a nak with a delay is redelivered after it', async (ctx) => {
    const { name, subj } = await stream(ctx, 'nakdelay');
    await publishN(ctx.streams, subj, 1);
    const at: number[] = [];
    const c = await ctx.streams.consume({ stream: name, durable: 'd', ackWaitMs: 5_000 }, async (m) => {
      at.push(Date.now());
      if (m.deliveryCount === 1) m.nak(300);
      else await m.ack();
    });
    await waitFor('redelivery', () => at.length === 2, 3_000);
    await c.stop();
    assert.ok(at[1]! - at[0]! >= 250, `redelivered after ${at[1]! - at[0]!} ms`);
  });

  test('an unacked message is redelivered after ackWaitMs; later ones are not held back', async (ctx) => {
    const { name, subj } = await stream(ctx, 'ackwait');
    await publishN(ctx.streams, subj, 3);
    const at = new Map<string, number>();
    const r = await record(ctx.streams, { stream: name, durable: 'd', ackWaitMs: ACK_WAIT }, (m) => {
      at.set(`${m.seq}/${m.deliveryCount}`, Date.now());
      return m.seq === 1 && m.deliveryCount === 1 ? 'ignore' : 'ack';
    });
    await waitFor('2 and 3 acked', () => r.acked.includes(2) && r.acked.includes(3), 2_000);
    assert.not.ok(r.acked.includes(1));
    await waitFor('the redelivery of 1', () => r.acked.includes(1), 3_000);
    await r.c.stop();
    const waited = at.get('1/2')! - at.get('1/1')!;
    assert.ok(waited >= ACK_WAIT * 0.8 && waited < ACK_WAIT * 4, `redelivered after ${waited} ms`);
    assert.equal(
      r.got.filter((m) => m.seq === 1).map((m) => m.deliveryCount),
      [1, 2],
    );
  });

  test('maxDeliver: a message never acked is given up after that many deliveries; the rest flows', async (ctx) => {
    const { name, subj } = await stream(ctx, 'maxdel');
    await publishN(ctx.streams, subj, 3);
    const r = await record(ctx.streams, { stream: name, durable: 'd', ackWaitMs: 5_000, maxDeliver: 2 }, (m) => (m.seq === 2 ? 'nak' : 'ack'));
    await waitFor('1 and 3 acked', () => r.acked.length === 2, 3_000);
    await tick(300);
    await r.c.stop();
    assert.equal(
      r.got.filter((m) => m.seq === 2).map((m) => m.deliveryCount),
      [1, 2],
    );
  });

  test('a durable consumer restarted resumes after the last acked message, losing none', async (ctx) => {
    const { name, subj } = await stream(ctx, 'restart');
    await publishN(ctx.streams, subj, 10);
    const options: ConsumeOptions = { stream: name, durable: 'worker', ackWaitMs: ACK_WAIT };
    // The first run acks 1..6 and "crashes" on 7 (and whatever else it was handed) without acking.
    const first = await record(ctx.streams, options, (m) => (m.seq <= 6 ? 'ack' : 'ignore'));
    await waitFor('1..6 acked and 7 handled', () => first.acked.length === 6 && first.got.some((m) => m.seq === 7), 3_000);
    await first.c.stop();
    await publishN(ctx.streams, subj, 5, 11); // published while no consumer runs

    const again = await ctx.another();
    const second = await record(again, options);
    await waitFor('7..15 acked', () => [7, 8, 9, 10, 11, 12, 13, 14, 15].every((s) => second.acked.includes(s)), 5_000);
    await tick(ACK_WAIT + 200);
    await second.c.stop();
    assert.equal(first.got.slice(0, 6).map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
    assert.ok(
      second.got.every((m) => m.seq > 6),
      `acked messages came back: ${second.got.map((m) => m.seq)}`,
    );
    const handled = new Set([...first.acked, ...second.acked]);
    assert.equal([...handled].sort((a, b) => a - b), Array.from({ length: 15 }, (_, i) => i + 1));
    // Fresh deliveries follow the stream order. (JetStream redelivers 7.. after
    // their ack wait, as deliveryCount 2; the SQL store resumes at its floor and,
    // not persisting delivery counts, hands them out as deliveryCount 1.)
    const fresh = second.got.filter((m) => m.deliveryCount === 1).map((m) => m.seq);
    assert.equal(fresh, [...fresh].sort((a, b) => a - b));
  });

  test('two consumers with different durable names each get every message', async (ctx) => {
    const { name, subj } = await stream(ctx, 'fanout');
    await publishN(ctx.streams, subj, 20);
    const a = await record(ctx.streams, { stream: name, durable: 'alpha', ackWaitMs: ACK_WAIT });
    const b = await record(ctx.streams, { stream: name, durable: 'beta', ackWaitMs: ACK_WAIT });
    await waitFor('both got 20', () => a.acked.length === 20 && b.acked.length === 20, 3_000);
    await Promise.all([a.c.stop(), b.c.stop()]);
    const seqs = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.equal(a.got.map((m) => m.seq), seqs);
    assert.equal(b.got.map((m) => m.seq), seqs);
  });

  test('a filtered consumer gets only matching subjects and does not see them again after a restart', async (ctx) => {
    const { name, subj } = await stream(ctx, 'filter');
    for (let i = 1; i <= 10; i++) await ctx.streams.publish(subj(i % 2 ? 'odd.x' : 'even.x'), enc(String(i)), `f-${i}`);
    const options: ConsumeOptions = { stream: name, durable: 'odd', filterSubject: subj('odd.*'), ackWaitMs: ACK_WAIT };
    const r = await record(ctx.streams, options);
    await waitFor('5 odd ones', () => r.acked.length === 5, 3_000);
    await r.c.stop();
    assert.equal(r.got.map((m) => m.seq), [1, 3, 5, 7, 9]);
    await ctx.streams.publish(subj('even.x'), enc('11'), 'f-11');
    await ctx.streams.publish(subj('odd.x'), enc('12'), 'f-12');
    const again = await ctx.another();
    const r2 = await record(again, options);
    await waitFor('12', () => r2.acked.includes(12), 3_000);
    await tick(ACK_WAIT);
    await r2.c.stop();
    assert.equal(r2.got.map((m) => m.seq), [12]);
  });

  test('a msgId is forgotten once the duplicate window and the message have expired', async (ctx) => {
    const { name, subj } = await stream(ctx, 'expire', { duplicateWindowMs: 100, maxAgeMs: 300 });
    assert.equal(await ctx.streams.publish(subj('a'), enc('old'), 'k'), { seq: 1, duplicate: false });
    await tick(700);
    assert.equal(await ctx.streams.publish(subj('a'), enc('other'), 'k2'), { seq: 2, duplicate: false });
    assert.equal(await ctx.streams.publish(subj('a'), enc('new'), 'k'), { seq: 3, duplicate: false });
    const r = await record(ctx.streams, { stream: name, durable: 'd', ackWaitMs: ACK_WAIT });
    await waitFor('2 messages', () => r.acked.length === 2, 3_000);
    await tick(100);
    await r.c.stop();
    assert.equal(r.got.map((m) => m.data), ['other', 'new']);
  });

  test('bad input gets typed errors', async (ctx) => {
    const { name, subj } = await stream(ctx, 'bad');
    const s = ctx.streams;
    await rejectsA(s.publish(subj('a'), enc('x'), ''), BadRequestError);
    await rejectsA(s.publish(subj('*'), enc('x'), 'k'), BadRequestError);
    await rejectsA(s.publish(`${ctx.p}.nostream.a`, enc('x'), 'k'), NotFoundError);
    await rejectsA(s.publish(subj('big'), new Uint8Array(2 * 1024 * 1024), 'k'), PayloadTooLargeError);
    await rejectsA(s.ensureStream({ name: 'has.dot', subjects: [`${ctx.p}.x`], duplicateWindowMs: 1000 }), BadRequestError);
    await rejectsA(s.ensureStream({ name: `${ctx.P}_empty`, subjects: [], duplicateWindowMs: 1000 }), BadRequestError);
    await rejectsA(s.ensureStream({ name: `${ctx.P}_win`, subjects: [`${ctx.p}.win`], duplicateWindowMs: 0 }), BadRequestError);
    await rejectsA(s.ensureStream({ name: `${ctx.P}_age`, subjects: [`${ctx.p}.age`], duplicateWindowMs: 2000, maxAgeMs: 1000 }), BadRequestError);
    ctx.created.add(`${ctx.P}_overlap`);
    await rejectsA(s.ensureStream({ name: `${ctx.P}_overlap`, subjects: [subj('a')], duplicateWindowMs: 1000 }), BadRequestError);
    const noop = async () => undefined;
    await rejectsA(s.consume({ stream: `${ctx.P}_missing`, durable: 'd', ackWaitMs: 1000 }, noop), NotFoundError);
    await rejectsA(s.consume({ stream: name, durable: 'd', ackWaitMs: 0 }, noop), BadRequestError);
    await rejectsA(s.consume({ stream: name, durable: 'a.b', ackWaitMs: 1000 }, noop), BadRequestError);
    await rejectsA(s.consume({ stream: name, durable: 'd', ackWaitMs: 1000, filterSubject: `${ctx.p}.elsewhere` }, noop), BadRequestError);
    const c = await s.consume({ stream: name, durable: 'd', ackWaitMs: 1000 }, noop);
    await rejectsA(s.consume({ stream: name, durable: 'd', ackWaitMs: 1000 }, noop), LockedError);
    await c.stop();
  });

  test('deleteStream removes the stream; deleting it again says false', async (ctx) => {
    const { name, subj } = await stream(ctx, 'delete');
    await ctx.streams.publish(subj('a'), enc('x'), 'k');
    assert.is(await ctx.streams.deleteStream(name), true);
    assert.is(await ctx.streams.deleteStream(name), false);
    await rejectsA(ctx.streams.publish(subj('a'), enc('x'), 'k2'), NotFoundError);
    // Recreated, it starts over.
    await ctx.streams.ensureStream({ name, subjects: [`${ctx.p}.delete.>`], duplicateWindowMs: 60_000 });
    assert.equal(await ctx.streams.publish(subj('a'), enc('x'), 'k'), { seq: 1, duplicate: false });
  });

  return test;
}
