import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkSafeguards,
  DEFAULT_RETRAIN_POLICY,
  initialSafeguards,
  mayDeploy,
  noteOutcome,
  noteRefusal,
  noteStart,
  resetBreaker,
  timedOut,
  type SafeguardFacts,
  type SafeguardState,
} from './safeguards';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 10, 12); // 10 March 2026
const at = (days: number) => new Date(T0 + days * DAY);
const facts = (over: Partial<SafeguardFacts> = {}): SafeguardFacts => ({
  stage: 'PILOT',
  forensicLock: false,
  forensicLockReason: null,
  featureSignature: 'sig-a',
  blacklistedUntil: null,
  ...over,
});
const cpu = { seconds: 10, gpuHours: 0, costUsd: 0 };

const test = suite('retrain safeguards');

test('a fresh tenant may retrain', () => {
  assert.is(checkSafeguards(initialSafeguards(), facts(), at(0)), null);
});

test('rate limit: 14 days in PILOT — refused on day 13.99, lifted on day 14', () => {
  const s = noteStart(initialSafeguards(), at(0));
  const r = checkSafeguards(s, facts(), at(13.99));
  assert.is(r?.code, 'RETRAIN_RATE_LIMIT');
  assert.is(r?.safeguard, 'rateLimit');
  assert.match(r!.message, /14 days in PILOT/);
  assert.is(r?.until, at(14).toISOString());
  assert.is(checkSafeguards(s, facts(), at(14)), null);
});

test('rate limit: 30 days in CONTROLLED_AUTONOMY, configurable per stage', () => {
  const s = noteStart(initialSafeguards(), at(0));
  const ca = facts({ stage: 'CONTROLLED_AUTONOMY' });
  assert.is(checkSafeguards(s, ca, at(29))?.code, 'RETRAIN_RATE_LIMIT');
  assert.is(checkSafeguards(s, ca, at(30)), null);
  const policy = { ...DEFAULT_RETRAIN_POLICY, rateLimitDays: { ...DEFAULT_RETRAIN_POLICY.rateLimitDays, CONTROLLED_AUTONOMY: 3 } };
  assert.is(checkSafeguards(s, ca, at(2.9), policy)?.code, 'RETRAIN_RATE_LIMIT');
  assert.is(checkSafeguards(s, ca, at(3), policy), null);
});

test('SHADOW_MODE trains but never deploys', () => {
  assert.is(checkSafeguards(initialSafeguards(), facts({ stage: 'SHADOW_MODE' }), at(0)), null);
  assert.is(mayDeploy('SHADOW_MODE'), false);
  assert.is(mayDeploy('PILOT'), true);
  assert.is(mayDeploy('CONTROLLED_AUTONOMY'), true);
});

test('cooldown: a blacklisted signature is refused until its end, other signatures are not', () => {
  const until = at(7).toISOString();
  const f = facts({ blacklistedUntil: until });
  const r = checkSafeguards(initialSafeguards(), f, at(6.5));
  assert.is(r?.code, 'RETRAIN_COOLDOWN');
  assert.match(r!.message, /sig-a/);
  assert.is(r?.until, until);
  assert.is(checkSafeguards(initialSafeguards(), f, at(7)), null, 'lifted at the end of the 7 days');
  assert.is(checkSafeguards(initialSafeguards(), facts({ featureSignature: 'sig-b' }), at(1)), null);
});

test('circuit breaker: 3 consecutive failures open it; a success in between resets the count; only a reset lifts it', () => {
  let s: SafeguardState = initialSafeguards();
  s = noteOutcome(s, 'failed', cpu, at(0)).state;
  s = noteOutcome(s, 'failed', cpu, at(1)).state;
  s = noteOutcome(s, 'succeeded', cpu, at(2)).state;
  assert.is(s.consecutiveErrors, 0);
  s = noteOutcome(s, 'failed', cpu, at(3)).state;
  s = noteOutcome(s, 'failed', cpu, at(4)).state;
  assert.is(checkSafeguards(s, facts(), at(4)), null, 'two failures do not open it');
  const third = noteOutcome(s, 'failed', cpu, at(5));
  assert.ok(third.circuitOpened);
  s = third.state;
  const r = checkSafeguards(s, facts(), at(5));
  assert.is(r?.code, 'RETRAIN_CIRCUIT_OPEN');
  assert.match(r!.message, /ADMIN/);
  assert.is(r?.until, undefined, 'never lifts by itself');
  assert.is(checkSafeguards(s, facts(), at(400))?.code, 'RETRAIN_CIRCUIT_OPEN', 'a year later, still open');
  s = noteRefusal(s, r!, at(5));
  s = resetBreaker(s);
  assert.is(checkSafeguards(s, facts(), at(5)), null);
  assert.is(s.lastRefusals.circuitBreaker, undefined);
  assert.is(noteOutcome(s, 'failed', cpu, at(6)).circuitOpened, false, 'the count starts again');
});

test('quota: GPU-hours — a job that would exceed 100 h is refused with BLOCK_RETRAINING until next month', () => {
  let s = initialSafeguards();
  const big = { seconds: 3600, gpuHours: 40, costUsd: 10 };
  s = noteOutcome(s, 'succeeded', big, at(0)).state;
  assert.is(checkSafeguards(s, facts(), at(0)), null, '40 + 40 ≤ 100');
  const second = noteOutcome(s, 'succeeded', big, at(1));
  assert.is(second.quotaExceeded, false);
  s = second.state;
  const r = checkSafeguards(s, facts(), at(1));
  assert.is(r?.code, 'BLOCK_RETRAINING', '80 + 40 > 100');
  assert.match(r!.message, /80 of 100 GPU-hours/);
  assert.is(r?.until, new Date(Date.UTC(2026, 3, 1)).toISOString());
  assert.is(checkSafeguards(s, facts(), new Date(Date.UTC(2026, 3, 1))), null, 'lifted on 1 April');
});

test('quota: spend — $500 a month; exhausting it is reported for the alert', () => {
  let s = initialSafeguards();
  const pricey = { seconds: 60, gpuHours: 1, costUsd: 300 };
  s = noteOutcome(s, 'succeeded', pricey, at(0)).state;
  assert.is(checkSafeguards(s, facts(), at(0))?.code, 'BLOCK_RETRAINING', '$300 + $300 > $500');
  const over = noteOutcome(s, 'succeeded', pricey, at(0));
  assert.ok(over.quotaExceeded);
  assert.is(over.state.usage.costUsd, 600);
  const fresh = noteOutcome(initialSafeguards(), 'succeeded', { seconds: 1, gpuHours: 0, costUsd: 1 }, at(0)).state;
  assert.is(checkSafeguards(fresh, facts(), at(0)), null);
});

test('forensic lock refuses first, naming the reason; lifting it lifts the refusal', () => {
  const r = checkSafeguards(noteStart(initialSafeguards(), at(0)), facts({ forensicLock: true, forensicLockReason: 'rollback of v7' }), at(1));
  assert.is(r?.code, 'LOCKED');
  assert.is(r?.safeguard, 'forensicLock');
  assert.match(r!.message, /rollback of v7/);
  assert.is(checkSafeguards(initialSafeguards(), facts({ forensicLock: false }), at(1)), null);
});

test('timeout: 24 h by default, configurable', () => {
  const started = at(0).toISOString();
  assert.is(timedOut(started, new Date(T0 + DAY - 1)), false);
  assert.is(timedOut(started, at(1)), true);
  assert.is(timedOut(started, new Date(T0 + 3_600_000), { ...DEFAULT_RETRAIN_POLICY, timeoutMs: 3_600_000 }), true);
});

test('the last refusal of each safeguard is kept for the console', () => {
  let s = noteStart(initialSafeguards(), at(0));
  const r1 = checkSafeguards(s, facts(), at(1))!;
  s = noteRefusal(s, r1, at(1));
  const r2 = checkSafeguards(s, facts({ blacklistedUntil: at(9).toISOString() }), at(2))!;
  s = noteRefusal(s, r2, at(2));
  assert.equal(Object.keys(s.lastRefusals).sort(), ['cooldown', 'rateLimit']);
  assert.is(s.lastRefusals.rateLimit?.code, 'RETRAIN_RATE_LIMIT');
  assert.is(s.lastRefusals.cooldown?.at, at(2).toISOString());
});

test.run();
