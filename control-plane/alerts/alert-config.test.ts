import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parseConfig } from '../config';
import { channelAt, retryDelayMs, slaDeadline } from './alert-policy';

test('webhooks per severity are read; defaults apply', () => {
  const c = parseConfig({ TOLLGATE_ALERT_WEBHOOK_P1: 'https://pager.example/hook', TOLLGATE_ALERT_WEBHOOK_P3: 'http://tickets.local:8080/x?k=1' });
  assert.equal(c.alerts.webhooks, { P1: 'https://pager.example/hook', P3: 'http://tickets.local:8080/x?k=1' });
  assert.is(c.alerts.webhookTimeoutMs, 5_000);
  assert.is(c.alerts.retryBaseMs, 1_000);
});

test('only http(s) webhook URLs; bad values name the variable', () => {
  for (const [name, value] of [
    ['TOLLGATE_ALERT_WEBHOOK_P2', 'file:///etc/passwd'],
    ['TOLLGATE_ALERT_WEBHOOK_ESCALATION', 'not a url'],
    ['TOLLGATE_ALERT_WEBHOOK_TIMEOUT_MS', '10'],
    ['TOLLGATE_ALERT_SWEEP_MS', 'soon'],
  ] as const) {
    try {
      parseConfig({ [name]: value });
      assert.unreachable(`${name}=${value} accepted`);
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.match((err as Error).message, name);
    }
  }
  assert.throws(() => parseConfig({ TOLLGATE_ALERT_RETRY_BASE_MS: '5000', TOLLGATE_ALERT_RETRY_MAX_MS: '1000' }), /TOLLGATE_ALERT_RETRY_MAX_MS: must not be less/);
});

test('policy: channels walk up by level; SLA per severity; capped exponential backoff', () => {
  assert.equal([0, 1, 2, 3].map((l) => channelAt('P3', l)), ['ticket', 'chat', 'call-sms', 'escalation']);
  assert.equal([0, 1, 2].map((l) => channelAt('P1', l)), ['call-sms', 'escalation', null]);
  const t = new Date('2026-01-01T00:00:00Z');
  assert.is(slaDeadline('P1', t, null).toISOString(), '2026-01-01T00:15:00.000Z');
  assert.is(slaDeadline('P2', t, null).toISOString(), '2026-01-01T04:00:00.000Z');
  assert.is(slaDeadline('P3', t, new Date('2026-01-02T00:00:00Z')).toISOString(), '2026-01-03T00:00:00.000Z');
  assert.equal([1, 2, 3, 4, 10].map((n) => retryDelayMs(n, 100, 1000)), [100, 200, 400, 800, 1000]);
});

test.run();
