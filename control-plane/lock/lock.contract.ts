import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LockHeldError, LockLostError } from '../../actors/errors';
import { rejectsA } from '../../test/support/assert';
import type { Lock } from '../ports/lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One contract, every Lock adapter: the same tests run against Redlock and the in-process lock. */
export function lockContract(name: string, open: () => Promise<{ lock: Lock; close(): Promise<void> }>) {
  const test = suite<{ lock: Lock; close(): Promise<void>; k: () => string }>(`Lock contract: ${name}`, {} as never);
  test.before(async (ctx) => {
    Object.assign(ctx, await open());
    const run = randomBytes(4).toString('hex'); // keys per run: suites share servers
    let n = 0;
    ctx.k = () => `lock:tenant:t${run}-${n++}:retrain`;
  });
  test.after(async (ctx) => ctx.close());

  test('acquire gives a lease with a fencing token; a second acquire is refused with LockHeldError', async ({ lock, k }) => {
    const key = k();
    const a = await lock.acquire(key, 5_000);
    assert.is(a.key, key);
    assert.ok(a.fencingToken >= 1);
    assert.ok(a.expiresAt > Date.now() - 1_000);
    const err = await rejectsA(lock.acquire(key, 5_000), LockHeldError, /held/);
    assert.is(err.code, 'LOCKED');
    await a.release();
  });

  test('after release the key is free again and the next token is larger', async ({ lock, k }) => {
    const key = k();
    const a = await lock.acquire(key, 5_000);
    await a.release();
    const b = await lock.acquire(key, 5_000);
    assert.ok(b.fencingToken > a.fencingToken, `${b.fencingToken} > ${a.fencingToken}`);
    assert.is.not(b.owner, a.owner);
    await b.release();
  });

  test('keys are independent', async ({ lock, k }) => {
    const a = await lock.acquire(k(), 5_000);
    const b = await lock.acquire(k(), 5_000);
    await a.release();
    await b.release();
  });

  test('a lease lapses after its TTL; its late extend is LockLostError and its release leaves the new holder alone', async ({ lock, k }) => {
    const key = k();
    const a = await lock.acquire(key, 80);
    await sleep(150);
    const b = await lock.acquire(key, 5_000);
    assert.ok(b.fencingToken > a.fencingToken);
    await rejectsA(a.extend(5_000), LockLostError);
    await a.release();
    await rejectsA(lock.acquire(key, 5_000), LockHeldError);
    await b.release();
  });

  test('extend keeps a lease past its first TTL', async ({ lock, k }) => {
    const key = k();
    const a = await lock.acquire(key, 150);
    await sleep(60);
    await a.extend(2_000);
    await sleep(150);
    await rejectsA(lock.acquire(key, 5_000), LockHeldError);
    assert.ok(a.expiresAt > Date.now() + 1_000);
    await a.release();
  });

  test('releaseOwned frees a lease by its owner id only', async ({ lock, k }) => {
    const key = k();
    const a = await lock.acquire(key, 5_000);
    assert.is(await lock.releaseOwned(key, 'someone-else'), false);
    await rejectsA(lock.acquire(key, 5_000), LockHeldError);
    assert.is(await lock.releaseOwned(key, a.owner), true);
    const b = await lock.acquire(key, 5_000);
    await b.release();
  });

  test('twenty concurrent acquires: exactly one wins, tokens stay unique', async ({ lock, k }) => {
    const key = k();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => lock.acquire(key, 5_000)));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.is(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.instance(r.reason, LockHeldError);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<Lock['acquire']>>>).value.release();
  });

  return test;
}
