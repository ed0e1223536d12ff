import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BadRequestError, NoRespondersError, PayloadTooLargeError, RequestTimeoutError } from '../../actors/errors';
import { rejectsA, throwsA } from '../../test/support/assert';
import type { Bus, Msg } from '../ports/bus';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** One contract, every Bus adapter: the same file runs against NATS and in-process. */
export function busContract(name: string, open: () => Promise<{ bus: Bus; close(): Promise<void> }>) {
  const test = suite<{ bus: Bus; close(): Promise<void>; p: string }>(`Bus contract: ${name}`, {} as never);
  test.before(async (ctx) => {
    Object.assign(ctx, await open());
    ctx.p = `t${randomBytes(4).toString('hex')}`; // a subject prefix per run: suites share servers
  });
  test.after(async (ctx) => ctx.close());

  async function collect(bus: Bus, pattern: string, queue?: string): Promise<{ got: Msg[]; stop(): void }> {
    const got: Msg[] = [];
    const sub = bus.subscribe(pattern, (m) => got.push(m), queue ? { queue } : {});
    await bus.flush();
    return { got, stop: () => sub.unsubscribe() };
  }

  test('publish reaches an exact subscriber with its headers', async ({ bus, p }) => {
    const c = await collect(bus, `${p}.a.b`);
    bus.publish(`${p}.a.b`, enc('hello'), { 'x-id': '42' });
    await bus.flush();
    await tick();
    assert.is(c.got.length, 1);
    assert.is(dec(c.got[0]!.data), 'hello');
    assert.is(c.got[0]!.headers['x-id'], '42');
    c.stop();
  });

  test('* matches one token, > matches one or more', async ({ bus, p }) => {
    const star = await collect(bus, `${p}.tenant.*.cmd`);
    const tail = await collect(bus, `${p}.evt.>`);
    for (const s of [`${p}.tenant.acme.cmd`, `${p}.tenant.acme.x.cmd`, `${p}.tenant.cmd`, `${p}.evt.acme`, `${p}.evt.acme.state`, `${p}.evt`]) {
      bus.publish(s, enc(s));
    }
    await bus.flush();
    await tick();
    assert.equal(star.got.map((m) => m.subject), [`${p}.tenant.acme.cmd`]);
    assert.equal(tail.got.map((m) => m.subject), [`${p}.evt.acme`, `${p}.evt.acme.state`]);
    star.stop();
    tail.stop();
  });

  test('a queue group shares messages: each goes to exactly one member', async ({ bus, p }) => {
    const a = await collect(bus, `${p}.work`, 'workers');
    const b = await collect(bus, `${p}.work`, 'workers');
    const watcher = await collect(bus, `${p}.work`);
    for (let i = 0; i < 100; i++) bus.publish(`${p}.work`, enc(String(i)));
    await bus.flush();
    await tick(50);
    assert.is(a.got.length + b.got.length, 100);
    assert.ok(a.got.length > 0 && b.got.length > 0, 'both members got work');
    assert.is(watcher.got.length, 100);
    [a, b, watcher].forEach((c) => c.stop());
  });

  test('request/reply round trip with headers', async ({ bus, p }) => {
    const sub = bus.subscribe(`${p}.echo`, (m) => m.respond(enc(dec(m.data).toUpperCase()), { 'x-seen': m.headers['x-q'] ?? '' }));
    await bus.flush();
    const reply = await bus.request(`${p}.echo`, enc('ping'), { timeoutMs: 2000, headers: { 'x-q': 'yes' } });
    assert.is(dec(reply.data), 'PING');
    assert.is(reply.headers['x-seen'], 'yes');
    sub.unsubscribe();
  });

  test('no responders and timeouts are typed errors', async ({ bus, p }) => {
    await rejectsA(bus.request(`${p}.nobody`, enc('?'), { timeoutMs: 1000 }), NoRespondersError);
    const sub = bus.subscribe(`${p}.silent`, () => undefined);
    await bus.flush();
    const t0 = Date.now();
    await rejectsA(bus.request(`${p}.silent`, enc('?'), { timeoutMs: 150 }), RequestTimeoutError);
    assert.ok(Date.now() - t0 < 1000);
    sub.unsubscribe();
  });

  test('oversize payloads and invalid subjects are refused before sending', async ({ bus, p }) => {
    const big = new Uint8Array(bus.maxPayload + 1);
    throwsA(() => bus.publish(`${p}.big`, big), PayloadTooLargeError);
    await rejectsA(bus.request(`${p}.big`, big, { timeoutMs: 100 }), PayloadTooLargeError);
    throwsA(() => bus.publish(`${p}.*`, enc('x')), BadRequestError);
    throwsA(() => bus.publish(`${p}..x`, enc('x')), BadRequestError);
    throwsA(() => bus.subscribe(`${p}.>.x`, () => undefined), BadRequestError);
  });

  test('one subscription receives in publish order; unsubscribe stops delivery', async ({ bus, p }) => {
    const c = await collect(bus, `${p}.seq`);
    for (let i = 0; i < 2000; i++) bus.publish(`${p}.seq`, enc(String(i)));
    await bus.flush();
    for (let i = 0; i < 50 && c.got.length < 2000; i++) await tick();
    assert.equal(c.got.map((m) => Number(dec(m.data))), Array.from({ length: 2000 }, (_, i) => i));
    c.stop();
    bus.publish(`${p}.seq`, enc('late'));
    await bus.flush();
    await tick();
    assert.is(c.got.length, 2000);
  });

  return test;
}
