import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventsOfMessage } from './learning-consumer';

const test = suite('learning stream messages');

const event = { idempotencyKey: 'k1', modelVersionId: '00000000-0000-4000-8000-000000000001', ts: '2026-12-01T10:00:00Z', features: { ndvi: 0.4 }, prediction: 3.1 };
const shared = { tenantId: 'farm', source: 'sensors', receivedAt: '2026-12-01T10:00:01.000Z' };

test('a chunk says the shared fields once; each event gets them', () => {
  const events = eventsOfMessage(JSON.stringify({ ...shared, events: [event, { ...event, idempotencyKey: 'k2' }] }));
  assert.equal(events, [{ ...event, ...shared }, { ...event, idempotencyKey: 'k2', ...shared }]);
});

test('a chunk without a source stores a null source', () => {
  const [e] = eventsOfMessage(JSON.stringify({ tenantId: 'farm', receivedAt: shared.receivedAt, events: [event] }));
  assert.is(e!.source, null);
});

test('the earlier forms still read: events carrying the shared fields, and one event per message', () => {
  assert.equal(eventsOfMessage(JSON.stringify({ events: [{ ...event, ...shared }] })), [{ ...event, ...shared }]);
  assert.equal(eventsOfMessage(JSON.stringify({ ...event, ...shared })), [{ ...event, ...shared }]);
});

test('malformed messages throw (the consumer drops them instead of holding back their batch)', () => {
  assert.throws(() => eventsOfMessage('{"events": ['), /JSON/);
  assert.throws(() => eventsOfMessage('{"n":1}'), /no tenantId/);
  assert.throws(() => eventsOfMessage(JSON.stringify({ ...shared, events: [7] })), /not an object/);
  assert.throws(() => eventsOfMessage(JSON.stringify({ ...shared, events: [{ ...event, idempotencyKey: undefined }] })), /no idempotencyKey/);
  assert.throws(() => eventsOfMessage(JSON.stringify({ ...shared, events: [{ ...event, features: null }] })), /no features/);
});

test.run();
