import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FlagSet } from './evaluate';
import { bucketOf, bucketsFor } from './hash';
import type { FlagConfig } from './model';

const profile = { name: 'fast', params: { depth: 3 }, targetLatencyMs: 100 };
const defaultProfile = { name: 'safe', params: { depth: 1 } };
const flag = (over: Partial<FlagConfig> = {}): FlagConfig => ({
  key: 'new-ranker',
  stage: 0,
  killed: false,
  audience: { users: ['ana'], segments: ['ops'], percentage: 100 },
  dependencies: [],
  profile,
  defaultProfile,
  version: 1,
  ...over,
});

const test = suite('flag evaluation');

test('each rule gives its value, reason and profile', () => {
  const s = (f: FlagConfig, subject: Parameters<FlagSet['evaluate']>[1]) => FlagSet.of([f]).evaluate(f.key, subject)!;
  const t = (r: ReturnType<typeof s>) => [r.value, r.reason, r.profile.name];
  assert.equal(t(s(flag(), { id: 'ana' })), [true, 'USER_LIST', 'fast']);
  assert.equal(t(s(flag(), { id: 'bob', segments: ['ops'] })), [false, 'STAGE', 'safe'], 'segments start at stage 1');
  assert.equal(t(s(flag({ stage: 1 }), { id: 'bob', segments: ['ops'] })), [true, 'SEGMENT', 'fast']);
  assert.equal(t(s(flag({ stage: 1 }), { id: 'bob', optIn: ['new-ranker'] })), [false, 'STAGE', 'safe'], 'opt-in starts at stage 2');
  assert.equal(t(s(flag({ stage: 2 }), { id: 'bob', optIn: ['new-ranker'] })), [true, 'OPT_IN', 'fast']);
  assert.equal(t(s(flag({ stage: 2 }), { id: 'bob' })), [false, 'STAGE', 'safe']);
  assert.equal(t(s(flag({ stage: 3 }), { id: 'bob' })), [true, 'PERCENTAGE', 'fast']);
  assert.equal(t(s(flag({ stage: 3 }), { id: 'ana', optOut: ['new-ranker'] })), [false, 'OPT_OUT', 'safe'], 'opt-out wins over the user list');
  assert.equal(t(s(flag({ stage: 4 }), { id: 'bob', optOut: ['new-ranker'] })), [true, 'FULL', 'fast'], 'full ignores opt-out');
  assert.equal(t(s(flag({ stage: 4, killed: true }), { id: 'ana' })), [false, 'KILLED', 'safe']);
  assert.equal(t(s(flag({ stage: 3, audience: { users: [], segments: [], percentage: 0 } }), { id: 'bob' })), [false, 'PERCENTAGE', 'safe']);
});

test('a flag is off where a dependency is off, on where it is on', () => {
  const base = flag({ key: 'base', stage: 1, audience: { users: ['ana'], segments: [], percentage: 100 } });
  const dep = flag({ key: 'child', stage: 4, dependencies: ['base'] });
  const set = FlagSet.of([base, dep]);
  assert.is(set.evaluate('child', { id: 'ana' })!.reason, 'FULL');
  assert.is(set.evaluate('child', { id: 'bob' })!.reason, 'DEPENDENCY');
  assert.is(set.evaluate('child', { id: 'bob' })!.value, false);
  assert.is(FlagSet.of([dep]).evaluate('child', { id: 'ana' })!.reason, 'DEPENDENCY', 'a missing dependency is off');
  const killed = set.with({ ...base, killed: true, version: 2 });
  assert.is(killed.evaluate('child', { id: 'ana' })!.reason, 'DEPENDENCY', 'killing the base turns dependents off');
  assert.is(set.evaluate('child', { id: 'ana' })!.value, true, 'with() leaves the original set alone');
});

test('evaluateAll lists every flag in key order; unknown flags are undefined', () => {
  const set = FlagSet.of([flag({ key: 'b' }), flag({ key: 'a' })]);
  assert.equal(set.evaluateAll({ id: 'x' }).map((e) => e.key), ['a', 'b']);
  assert.is(set.evaluate('nope', { id: 'x' }), undefined);
});

test('percentage rollout: within 0.5 pp of its target over 100,000 subjects', () => {
  for (const pct of [1, 5, 10, 25, 50, 90, 99.5]) {
    const set = FlagSet.of([flag({ stage: 3, audience: { users: [], segments: [], percentage: pct } })]);
    let on = 0;
    for (let i = 0; i < 100_000; i++) if (set.evaluate('new-ranker', { id: `user-${i}` })!.value) on++;
    const share = (on / 100_000) * 100;
    assert.ok(Math.abs(share - pct) <= 0.5, `${pct}% target gave ${share.toFixed(3)}%`);
  }
});

test('property: a subject always lands in the same bucket, and stays in as the percentage grows', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/), fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (key, subject, a, b) => {
      const bucket = bucketOf(key, subject);
      assert.is(bucketOf(key, subject), bucket);
      assert.ok(bucket >= 0 && bucket < 10_000);
      const [lo, hi] = a <= b ? [a / 100, b / 100] : [b / 100, a / 100];
      const at = (p: number) => FlagSet.of([flag({ key, stage: 3, audience: { users: [], segments: [], percentage: p } })]).evaluate(key, { id: subject })!.value;
      if (at(lo)) assert.ok(at(hi), `in at ${lo}% but out at ${hi}%`);
    }),
    { numRuns: 500 },
  );
});

test('property: the share of any flag key is close to its percentage (20,000 subjects, 5 sigma)', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/), fc.integer({ min: 0, max: 10_000 }), (key, buckets) => {
      const p = buckets / 10_000;
      const n = 20_000;
      let on = 0;
      const set = FlagSet.of([flag({ key, stage: 3, audience: { users: [], segments: [], percentage: buckets / 100 } })]);
      for (let i = 0; i < n; i++) if (set.evaluate(key, { id: `s${i}` })!.value) on++;
      const sigma = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(on / n - p) <= 5 * sigma + 1e-9, `${key} at ${p}: ${on / n}`);
    }),
    { numRuns: 25 },
  );
});

test('bucketsFor clamps and rounds to hundredths of a percent', () => {
  assert.is(bucketsFor(12.34), 1234);
  assert.is(bucketsFor(-1), 0);
  assert.is(bucketsFor(101), 10_000);
});

test.run();
