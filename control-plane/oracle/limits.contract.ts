import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../ports/clock';
import type { RateLimiter } from '../ports/rate-limiter';
import type { ReplayCache } from '../ports/replay-cache';
import type { Admission } from '../ports/admission';

export interface LimitsContext {
  clock: ManualClock;
  replay: ReplayCache;
  limiter: RateLimiter;
  /** Claim + rate slot in one step, over the same backend. */
  admission: Admission;
}

/**
 * The one contract both the Redis and in-process adapters of ReplayCache and
 * RateLimiter pass. `ctx()` gives fresh adapters (fresh key prefix) per test.
 */
export function limitsContract(test: Test, ctx: () => Promise<LimitsContext>): void {
  test('replay: a key is accepted once, refused while it lives, and accepted again after it expired', async () => {
    const { clock, replay } = await ctx();
    // Whole seconds, as JWT exp claims are.
    const exp = new Date((Math.floor(Date.now() / 1000) + 2) * 1000);
    clock.increment(exp.getTime() - 500 - clock.now().getTime());
    assert.is(await replay.claim('p1:a', exp), true);
    assert.is(await replay.claim('p1:a', exp), false);
    assert.is(await replay.claim('p2:a', exp), true, 'keys are independent');
    // Redis expiry runs on its own clock: wait real time there, manual time here.
    clock.increment(1_000);
    await new Promise((r) => setTimeout(r, Math.max(0, exp.getTime() - Date.now()) + 100));
    assert.is(await replay.claim('p1:a', new Date(Date.now() + 60_000)), true);
  });

  test('replay: of 50 concurrent claims of one key exactly one wins', async () => {
    const { clock, replay } = await ctx();
    const exp = new Date(clock.now().getTime() + 60_000);
    const results = await Promise.all(Array.from({ length: 50 }, () => replay.claim('race', exp)));
    assert.is(results.filter(Boolean).length, 1);
  });

  test('rate: the limit+1st hit in a window is refused with the time until a slot frees', async () => {
    const { clock, limiter } = await ctx();
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) {
      const d = await limiter.hit('k', 5, 1_000, new Date(t0.getTime() + i * 100));
      assert.ok(d.allowed, `hit ${i}`);
    }
    const refused = await limiter.hit('k', 5, 1_000, new Date(t0.getTime() + 450));
    assert.is(refused.allowed, false);
    assert.is(refused.retryAfterMs, 550);
    assert.ok((await limiter.hit('other', 5, 1_000, new Date(t0.getTime() + 450))).allowed, 'keys are independent');
  });

  test('rate: the window slides — the oldest hit leaving frees exactly one slot', async () => {
    const { clock, limiter } = await ctx();
    const t0 = clock.now().getTime();
    for (let i = 0; i < 3; i++) assert.ok((await limiter.hit('s', 3, 1_000, new Date(t0 + i * 300))).allowed);
    assert.is((await limiter.hit('s', 3, 1_000, new Date(t0 + 999))).allowed, false);
    assert.is((await limiter.hit('s', 3, 1_000, new Date(t0 + 1_000))).allowed, true);
    assert.is((await limiter.hit('s', 3, 1_000, new Date(t0 + 1_001))).allowed, false);
  });

  test('rate: 1,000 concurrent hits against a limit of 1,000 all pass; the 1,001st is refused', async () => {
    const { clock, limiter } = await ctx();
    const now = clock.now();
    const results = await Promise.all(Array.from({ length: 1_000 }, () => limiter.hit('burst', 1_000, 1_000, now)));
    assert.is(results.filter((r) => r.allowed).length, 1_000);
    assert.is((await limiter.hit('burst', 1_000, 1_000, now)).allowed, false);
  });

  test('admission: first use takes a slot; a replay is refused without one; over the limit the token is still burnt', async () => {
    const { clock, admission } = await ctx();
    const now = clock.now();
    const exp = new Date(now.getTime() + 60_000);
    const rate = { key: 'acme', limit: 2, windowMs: 1_000 };
    assert.equal(await admission.admit({ key: 'acme:j1', expiresAt: exp }, rate, now), { replayed: false, allowed: true, retryAfterMs: 0 });
    const replay = await admission.admit({ key: 'acme:j1', expiresAt: exp }, rate, now);
    assert.is(replay.replayed, true);
    assert.is(replay.allowed, false);
    assert.is((await admission.admit({ key: 'acme:j2', expiresAt: exp }, rate, now)).allowed, true, 'the replay used no slot');
    const over = await admission.admit({ key: 'acme:j3', expiresAt: exp }, rate, new Date(now.getTime() + 100));
    assert.equal([over.replayed, over.allowed, over.retryAfterMs], [false, false, 900]);
    const later = new Date(now.getTime() + 1_500);
    assert.is((await admission.admit({ key: 'acme:j3', expiresAt: exp }, rate, later)).replayed, true, 'refused for its rate, the token stays used');
  });

  test('admission: of 50 concurrent uses of one token exactly one is admitted', async () => {
    const { clock, admission } = await ctx();
    const now = clock.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => admission.admit({ key: 'race', expiresAt: new Date(now.getTime() + 60_000) }, { key: 'p', limit: 1_000, windowMs: 1_000 }, now)));
    assert.is(results.filter((r) => r.allowed).length, 1);
    assert.is(results.filter((r) => r.replayed).length, 49);
  });

  test('admission: 200 concurrent first uses of two partners (more than one Redis batch) — each partner gets exactly its limit, in arrival order; then all 200 are replays', async () => {
    const { clock, admission } = await ctx();
    const now = clock.now();
    const exp = new Date(now.getTime() + 60_000);
    const use = (i: number) => admission.admit({ key: `t${i}`, expiresAt: exp }, i % 2 ? { key: 'odd', limit: 30, windowMs: 1_000 } : { key: 'even', limit: 90, windowMs: 1_000 }, now);
    const first = await Promise.all(Array.from({ length: 200 }, (_, i) => use(i)));
    const allowed = (parity: number) => first.flatMap((r, i) => (i % 2 === parity && r.allowed ? [i] : []));
    // The first 90 even and the first 30 odd requests, exactly.
    assert.equal(allowed(0), Array.from({ length: 90 }, (_, k) => 2 * k));
    assert.equal(allowed(1), Array.from({ length: 30 }, (_, k) => 2 * k + 1));
    for (const r of first.filter((d) => !d.allowed)) {
      assert.is(r.replayed, false);
      assert.ok(r.retryAfterMs > 0 && r.retryAfterMs <= 1_000, `retry after ${r.retryAfterMs} ms`);
    }
    const again = await Promise.all(Array.from({ length: 200 }, (_, i) => use(i)));
    assert.ok(again.every((r) => r.replayed && !r.allowed));
  });
}
