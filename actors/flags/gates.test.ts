import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checklist, decideStageChange } from './checklist';
import { evaluateGates, failingGates, notApplicableGates } from './gates';
import type { FlagRun, RunMetrics } from './model';
import { firedTriggers } from './triggers';

const H = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const at = (h: number) => new Date(T0 + h * H).toISOString();
const profile = { name: 'p', params: {}, targetLatencyMs: 100 };

/** A run that passes every gate against its baseline. */
const goodMetrics = (over: Partial<RunMetrics> = {}): RunMetrics => ({
  passRate: 0.9,
  avgScore: 4.2,
  topIssueRate: 0.05,
  avgLatencyMs: 90,
  p95LatencyMs: 105,
  vetoedShare: 0.02,
  errorRate: 0.004,
  timeoutRate: 0.002,
  manualCorrectionRate: 0.2,
  testsPassed: true,
  userBlockingReports: 0,
  incidents: 0,
  issues: { 'tag-mismatch': 3 },
  baseline: { passRate: 0.91, avgScore: 4.1, topIssueRate: 0.1, vetoedShare: 0.03 },
  ...over,
});
const runs = (...ms: RunMetrics[]): FlagRun[] => ms.map((m, i) => ({ runId: `r${i}`, at: at(i), stage: 1, metrics: m }));

function decide(rs: FlagRun[], opts: { lastIncidentAt?: string | null; notes?: string | null; ownerApproved?: boolean } = {}) {
  const now = at(100);
  const gates = evaluateGates({ runs: rs, profile, lastIncidentAt: opts.lastIncidentAt ?? null, at: now });
  const items = checklist({ targetStage: 2, owner: 'olga', runs: rs, gates, releaseNotes: opts.notes === undefined ? 'notes' : opts.notes, ownerApproval: opts.ownerApproved === false ? null : { by: 'user:olga', at: now } });
  return { gates, items, d: decideStageChange({ key: 'f', from: 1, to: 2, killed: false, gates, items, dependencies: [] }) };
}

const test = suite('flag gates, checklist and stage decisions');

test('three good runs: every gate passes and the promotion is allowed', () => {
  const { gates, items, d } = decide(runs(goodMetrics(), goodMetrics(), goodMetrics()));
  assert.ok(gates.every((g) => g.passed), JSON.stringify(gates.filter((g) => !g.passed)));
  assert.ok(items.every((i) => i.done));
  assert.equal(d, { ok: true, kind: 'promotion' });
});

const refusals: Array<[string, Partial<RunMetrics>, RegExp]> = [
  ['quality.passRate', { passRate: 0.88 }, /quality\.passRate: -3 \(needs >= -2 pp/],
  ['quality.avgScore', { avgScore: 4.0 }, /quality\.avgScore: -0\.1 \(needs >= 0/],
  ['quality.topIssueRate', { topIssueRate: 0.08 }, /quality\.topIssueRate: -0\.2 \(needs <= -0\.3/],
  ['performance.avgLatency', { avgLatencyMs: 101 }, /performance\.avgLatency: 101 \(needs <= 100 ms/],
  ['performance.p95Latency', { p95LatencyMs: 111 }, /performance\.p95Latency: 111 \(needs <= 110 ms/],
  ['stability.vetoedShare', { vetoedShare: 0.04 }, /stability\.vetoedShare: 0\.01 \(needs <= 0/],
  ['stability.errorRate', { errorRate: 0.008, timeoutRate: 0.004 }, /stability\.errorRate: 0\.012 \(needs <= 0\.01/],
  ['operations.manualCorrection', { manualCorrectionRate: 0.31 }, /operations\.manualCorrection: 0\.31 \(needs <= 0\.3/],
];
for (const [gate, bad, message] of refusals) {
  test(`refused by ${gate} (with its numbers), allowed once it holds on average`, () => {
    const refused = decide(runs(goodMetrics(bad), goodMetrics(bad), goodMetrics(bad))).d;
    assert.is(refused.ok, false);
    if (refused.ok) return;
    assert.is(refused.refusal.code, 'GATE_FAILED');
    assert.match(refused.refusal.message, message);
    assert.equal((refused.refusal as { gates: Array<{ id: string }> }).gates.map((g) => g.id), [gate]);
    // The average of the last 3 runs decides: one bad run among four, the oldest, drops out.
    assert.equal(decide(runs(goodMetrics(bad), goodMetrics(), goodMetrics(), goodMetrics())).d, { ok: true, kind: 'promotion' });
  });
}

test('the average, not the last run: one bad run in the window can still pass when the mean holds', () => {
  const { d } = decide(runs(goodMetrics({ avgLatencyMs: 96 }), goodMetrics({ avgLatencyMs: 96 }), goodMetrics({ avgLatencyMs: 106 })));
  assert.equal(d, { ok: true, kind: 'promotion' }, 'mean latency 99.3 ms ≤ 100');
});

test('fewer than 3 runs: refused, naming the evidence gate', () => {
  const { d } = decide(runs(goodMetrics(), goodMetrics()));
  assert.is(d.ok, false);
  if (!d.ok) assert.match(d.refusal.message, /evidence\.runs: 2 \(needs >= 3 runs/);
});

test('48 h without an incident: refused at 47 h, allowed at 48 h', () => {
  const three = runs(goodMetrics(), goodMetrics(), goodMetrics());
  const early = decide(three, { lastIncidentAt: at(100 - 47) }).d;
  assert.is(early.ok, false);
  if (!early.ok) assert.match(early.refusal.message, /incidents\.clean48h: 47 \(needs >= 48 h/);
  assert.equal(decide(three, { lastIncidentAt: at(100 - 48) }).d, { ok: true, kind: 'promotion' });
});

test('a profile without a latency target: the performance gates are not applicable, with no made-up threshold', () => {
  // What a kill leaves: the profile reset to a default that sets no target.
  const noTarget = { name: 'baseline', params: {} };
  const three = runs(goodMetrics(), goodMetrics(), goodMetrics({ avgLatencyMs: 5_000, p95LatencyMs: 9_000 }));
  const gates = evaluateGates({ runs: three, profile: noTarget, lastIncidentAt: null, at: at(10) });
  const perf = gates.filter((g) => g.group === 'performance');
  assert.equal(perf.map((g) => [g.id, g.passed, g.threshold]), [['performance.avgLatency', null, null], ['performance.p95Latency', null, null]]);
  assert.equal(perf.map((g) => g.value), [1726.666667, 3070], 'still measured and shown');
  for (const g of perf) assert.match(g.description, /not applicable: profile baseline has no latency target/);
  assert.ok(gates.every((g) => g.threshold === null || g.threshold >= -2), 'no -1 ms stand-in');
  assert.equal(failingGates(gates), []);
  assert.equal(notApplicableGates(gates), ['performance.avgLatency', 'performance.p95Latency']);
  // Neither passed nor failed: they do not decide the stage change, the other gates do.
  const items = checklist({ targetStage: 2, owner: 'olga', runs: three, gates, releaseNotes: 'n', ownerApproval: { by: 'user:olga', at: at(10) } });
  const met = items.find((i) => i.id === 'gates_met')!;
  assert.ok(met.done);
  assert.match(met.detail, /every gate passes \(not applicable: performance\.avgLatency, performance\.p95Latency, the profile has no latency target\)/);
  assert.equal(decideStageChange({ key: 'f', from: 1, to: 2, killed: false, gates, items, dependencies: [] }), { ok: true, kind: 'promotion' });
  const bad = evaluateGates({ runs: runs(goodMetrics({ avgScore: 4 }), goodMetrics({ avgScore: 4 }), goodMetrics({ avgScore: 4 })), profile: noTarget, lastIncidentAt: null, at: at(10) });
  const refused = decideStageChange({ key: 'f', from: 1, to: 2, killed: false, gates: bad, items, dependencies: [] });
  assert.is(refused.ok, false);
  if (!refused.ok) {
    assert.is(refused.refusal.message, 'gate(s) failed for f → OPT_IN_BETA: quality.avgScore: -0.1 (needs >= 0 points, average of 3 run(s))');
    assert.not.match(refused.refusal.message, /performance|-1 ms/);
  }
  // The same runs against a profile with a target are judged.
  const judged = evaluateGates({ runs: three, profile, lastIncidentAt: null, at: at(10) }).filter((g) => g.group === 'performance');
  assert.equal(judged.map((g) => [g.passed, g.threshold]), [[false, 100], [false, 110]]);
});

test('checklist: failed tests, missing notes and no owner approval are No-Go', () => {
  const rs = runs(goodMetrics(), goodMetrics({ testsPassed: false }), goodMetrics());
  const { items, d } = decide(rs, { notes: null, ownerApproved: false });
  assert.equal(items.filter((i) => !i.done).map((i) => i.id), ['tests_passed', 'release_notes', 'owner_approval']);
  assert.is(d.ok, false);
  if (!d.ok) {
    assert.is(d.refusal.code, 'CHECKLIST_INCOMPLETE');
    assert.match(d.refusal.message, /tests failed in run\(s\) r1/);
  }
  const byOwner = checklist({ targetStage: 2, owner: 'olga', runs: rs, gates: [], releaseNotes: 'n', ownerApproval: null, promoter: 'olga' });
  assert.ok(byOwner.find((i) => i.id === 'owner_approval')!.done, 'the owner promoting approves by doing it');
});

test('stage moves: one forward at a time, back at once, a killed flag only restores', () => {
  const pass = { gates: [], items: [], dependencies: [] };
  assert.equal(decideStageChange({ key: 'f', from: 1, to: 3, killed: false, ...pass }).ok, false);
  assert.equal(decideStageChange({ key: 'f', from: 1, to: 1, killed: false, ...pass }).ok, false);
  assert.equal(decideStageChange({ key: 'f', from: 3, to: 0, killed: false, ...pass }), { ok: true, kind: 'rollback' });
  assert.equal(decideStageChange({ key: 'f', from: 3, to: 3, killed: true, ...pass }), { ok: true, kind: 'restore' });
  assert.equal(decideStageChange({ key: 'f', from: 3, to: 4, killed: true, ...pass }).ok, false);
  const dep = decideStageChange({ key: 'f', from: 2, to: 3, killed: false, gates: [], items: [], dependencies: [{ key: 'base', stage: 2, killed: false }] });
  assert.is(dep.ok, false);
  if (!dep.ok) {
    assert.is(dep.refusal.code, 'DEPENDENCY_NOT_READY');
    assert.match(dep.refusal.message, /base is at stage 2/);
  }
  assert.equal(decideStageChange({ key: 'f', from: 2, to: 3, killed: false, gates: [], items: [], dependencies: [{ key: 'base', stage: 3, killed: false }] }), { ok: true, kind: 'promotion' });
});

test('automatic triggers: latency Δ > +10 %, error spike, user-blocking report', () => {
  const prev = runs(goodMetrics({ avgLatencyMs: 90 }), goodMetrics({ avgLatencyMs: 90 }));
  assert.equal(firedTriggers(goodMetrics({ avgLatencyMs: 99 }), prev), []);
  assert.equal(firedTriggers(goodMetrics({ avgLatencyMs: 99.1 }), prev).map((t) => t.id), ['latency_regression']);
  assert.equal(firedTriggers(goodMetrics({ errorRate: 0.051, timeoutRate: 0 }), []).map((t) => t.id), ['error_spike']);
  assert.equal(firedTriggers(goodMetrics({ errorRate: 0.02, timeoutRate: 0 }), prev).map((t) => t.id), ['error_spike'], '2 % is more than 3× the previous 0.6 %');
  assert.equal(firedTriggers(goodMetrics({ errorRate: 0.012, timeoutRate: 0 }), prev), [], '1.2 % is less than 3× 0.6 %');
  assert.equal(firedTriggers(goodMetrics({ userBlockingReports: 1 }), []).map((t) => t.id), ['user_blocking_report']);
});

const metricsArb = fc.record({
  passRate: fc.double({ min: 0, max: 1, noNaN: true }),
  avgScore: fc.double({ min: 0, max: 5, noNaN: true }),
  topIssueRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  avgLatencyMs: fc.double({ min: 50, max: 150, noNaN: true }),
  p95LatencyMs: fc.double({ min: 60, max: 160, noNaN: true }),
  vetoedShare: fc.double({ min: 0, max: 0.1, noNaN: true }),
  errorRate: fc.double({ min: 0, max: 0.02, noNaN: true }),
  timeoutRate: fc.double({ min: 0, max: 0.01, noNaN: true }),
  manualCorrectionRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
});

test('property: a forward move happens only with every gate passing, and a refusal names each failing gate with its value', () => {
  fc.assert(
    fc.property(fc.array(metricsArb, { minLength: 0, maxLength: 6 }), fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }), (ms, incidentHoursAgo) => {
      const rs = runs(...ms.map((m) => goodMetrics(m)));
      const { gates, d } = decide(rs, { lastIncidentAt: incidentHoursAgo === null ? null : at(100 - incidentHoursAgo) });
      const failing = gates.filter((g) => !g.passed);
      if (d.ok) {
        assert.is(failing.length, 0);
        assert.ok(rs.length >= 3);
      } else if (failing.length) {
        assert.is(d.refusal.code, 'GATE_FAILED');
        for (const g of failing) assert.ok(d.refusal.message.includes(`${g.id}: ${g.value === null ? 'no data' : g.value}`), `${g.id} missing from ${d.refusal.message}`);
      }
      // The averaged latency decides its gate exactly.
      const last = rs.slice(-3);
      if (last.length === 3) {
        const mean = last.reduce((a, r) => a + r.metrics.avgLatencyMs, 0) / 3;
        assert.is(gates.find((g) => g.id === 'performance.avgLatency')!.passed, Math.round(mean * 1e6) / 1e6 <= 100);
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
