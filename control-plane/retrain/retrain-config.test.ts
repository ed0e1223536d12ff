import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_RETRAIN_POLICY } from '../../actors/retrain/safeguards';
import { throwsA } from '../../test/support/assert';
import { ConfigError, parseConfig } from '../config';

const test = suite('retrain config');

test('defaults: the seeds\' safeguards and the built-in trainer', () => {
  const c = parseConfig({});
  assert.equal(c.retrain.policy, DEFAULT_RETRAIN_POLICY);
  assert.is(c.retrain.trainerCommand, undefined);
});

test('every safeguard is configurable from the environment', () => {
  const c = parseConfig({
    TOLLGATE_RETRAIN_DAYS_PILOT: '7',
    TOLLGATE_RETRAIN_DAYS_CONTROLLED_AUTONOMY: '45',
    TOLLGATE_RETRAIN_COOLDOWN_DAYS: '3',
    TOLLGATE_RETRAIN_BREAKER_THRESHOLD: '5',
    TOLLGATE_RETRAIN_GPU_HOURS: '20',
    TOLLGATE_RETRAIN_SPEND_USD: '99.5',
    TOLLGATE_RETRAIN_TIMEOUT_MS: '3600000',
    TOLLGATE_TRAINER_COMMAND: '["python3","train.py","{train}","{test}","{seed}","{out}"]',
  });
  assert.equal(c.retrain.policy.rateLimitDays, { SHADOW_MODE: 14, PILOT: 7, CONTROLLED_AUTONOMY: 45 });
  assert.is(c.retrain.policy.cooldownDays, 3);
  assert.is(c.retrain.policy.breakerThreshold, 5);
  assert.is(c.retrain.policy.gpuHoursPerMonth, 20);
  assert.is(c.retrain.policy.spendUsdPerMonth, 99.5);
  assert.is(c.retrain.policy.timeoutMs, 3_600_000);
  assert.equal(c.retrain.trainerCommand, ['python3', 'train.py', '{train}', '{test}', '{seed}', '{out}']);
});

test('bad values stop start-up naming the variable', () => {
  throwsA(() => parseConfig({ TOLLGATE_RETRAIN_TIMEOUT_MS: '10' }), ConfigError, /TOLLGATE_RETRAIN_TIMEOUT_MS/);
  throwsA(() => parseConfig({ TOLLGATE_RETRAIN_DAYS_PILOT: 'soon' }), ConfigError, /TOLLGATE_RETRAIN_DAYS_PILOT/);
  throwsA(() => parseConfig({ TOLLGATE_TRAINER_COMMAND: 'python3 train.py' }), ConfigError, /TOLLGATE_TRAINER_COMMAND: must be a JSON array/);
  throwsA(() => parseConfig({ TOLLGATE_TRAINER_COMMAND: '[]' }), ConfigError, /TOLLGATE_TRAINER_COMMAND/);
  throwsA(() => parseConfig({ PORT: 'x', TOLLGATE_RETRAIN_GPU_HOURS: '-1' }), ConfigError, /PORT[\s\S]*TOLLGATE_RETRAIN_GPU_HOURS/);
});

test.run();
