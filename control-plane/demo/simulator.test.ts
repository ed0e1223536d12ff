import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiAnswer, Call } from './api';
import { DemoSimulator } from './simulator';
import { DAY_MS, SCRIPT } from './story';

/**
 * The simulator's own logic (routing of forecasts, delayed labels, the end of
 * the story) against a recording stand-in for the node's HTTP API; the real
 * node is exercised in test/integration/demo-*.test.ts.
 */
const test = suite('demo: simulator traffic');
const START = Date.UTC(2026, 5, 1, 6);
const HOUR = 3_600_000;

interface Posted {
  idempotencyKey: string;
  modelVersionId: string;
  ts: string;
  prediction: number;
  predictionId?: string;
  actual?: number;
  role?: string;
}

function fakeNode(models: Record<string, Array<{ id: string; label: string; state: string; canaryTrafficPercent: number | null }>>) {
  const posted: Posted[] = [];
  const call: Call = async (method, path, body): Promise<ApiAnswer> => {
    const ok = (b: unknown): ApiAnswer => ({ status: 200, body: b, text: JSON.stringify(b) });
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/api\/v1\/tenants\/([^/]+)\/events$/.exec(path))) {
      const events = (body as { events: Posted[] }).events;
      posted.push(...events);
      return ok({ accepted: events.length, duplicates: 0, rejected: [] });
    }
    if ((m = /^\/api\/v1\/tenants\/([^/?]+)\/models/.exec(path))) return ok({ items: (models[m[1]!] ?? []).map((x) => ({ ...x, parentId: null, revision: 1, artifactSha256: null })) });
    if ((m = /^\/api\/v1\/tenants\/([^/?]+)\/drift/.exec(path))) return ok({ items: [] });
    if ((m = /^\/api\/v1\/tenants\/([^/?]+)\/retrain/.exec(path))) return ok({ saga: null, history: [] });
    if ((m = /^\/api\/v1\/models\/([^/]+)\/promotion$/.exec(path))) return ok({ promotion: { stage: 'canary-50', status: 'running' } });
    if ((m = /^\/api\/v1\/tenants\/([^/?]+)$/.exec(path))) return ok({ id: m[1], createdAt: new Date(START).toISOString(), forensicLock: false });
    return { status: 404, body: { error: { code: 'NOT_FOUND', message: path } }, text: '' };
  };
  return { call, posted };
}

const champion = (id: string) => ({ id, label: 'v1', state: 'CHAMPION', canaryTrafficPercent: null });

test('forecasts go where the routes send them; shadows get a mirror; yields come 2–4 h later on the same predictionId', async () => {
  const node = fakeNode({
    'alder-farms': [champion('a1'), { id: 'a2', label: 'retrain-x', state: 'CANARY', canaryTrafficPercent: 50 }],
    'birch-valley': [champion('b1'), { id: 'b2', label: 'v2', state: 'SHADOW', canaryTrafficPercent: null }],
    'cedar-ridge': [champion('c1')],
  });
  let now = START;
  const sim = new DemoSimulator({ call: node.call, tokens: { manager: 'm', admin: 'a' }, now: () => now, log: pino({ level: 'silent' }), ratePerHour: 100 });
  await sim.attach();
  for (let i = 0; i < 10; i++) {
    now += HOUR;
    await sim.tick();
  }
  const forecasts = node.posted.filter((e) => e.actual === undefined);
  const labels = node.posted.filter((e) => e.actual !== undefined);
  const alder = forecasts.filter((e) => e.modelVersionId.startsWith('a'));
  assert.ok(alder.length >= 950 && alder.length <= 1000, `${alder.length} alder forecasts in 10 h at 100/h`);
  const canaryShare = alder.filter((e) => e.modelVersionId === 'a2').length / alder.length;
  assert.ok(canaryShare > 0.4 && canaryShare < 0.6, `canary share ${canaryShare}`);
  assert.ok(alder.every((e) => e.role === (e.modelVersionId === 'a2' ? 'canary' : 'champion')));
  const birchChampion = forecasts.filter((e) => e.modelVersionId === 'b1').length;
  const birchShadow = forecasts.filter((e) => e.modelVersionId === 'b2').length;
  assert.is(birchShadow, birchChampion, 'every birch request mirrored to the shadow');
  assert.ok(forecasts.every((e) => Date.parse(e.ts) <= now && Date.parse(e.ts) > START));
  // Each label joins a forecast made 2–4 h before it was sent; none is sent early.
  const byId = new Map(forecasts.map((e) => [e.predictionId, e]));
  assert.ok(labels.length > 0.5 * forecasts.length);
  for (const l of labels) {
    const f = byId.get(l.predictionId);
    assert.ok(f, `label ${l.idempotencyKey} joins a forecast`);
    assert.is(l.modelVersionId, f!.modelVersionId);
    assert.is(l.ts, f!.ts);
    assert.is(l.prediction, f!.prediction);
    assert.is.not(l.idempotencyKey, f!.idempotencyKey);
  }
  assert.is(new Set(node.posted.map((e) => e.idempotencyKey)).size, node.posted.length, 'idempotency keys are unique');
});

test('history before the story: forecasts with their yields, from the champion only', async () => {
  const node = fakeNode({ 'alder-farms': [champion('a1'), { id: 'a2', label: 'x', state: 'SHADOW', canaryTrafficPercent: null }], 'birch-valley': [champion('b1')], 'cedar-ridge': [champion('c1')] });
  const sim = new DemoSimulator({ call: node.call, tokens: { manager: 'm', admin: 'a' }, now: () => START, log: pino({ level: 'silent' }) });
  await sim.attach();
  await sim.backfill(2);
  const alder = node.posted.filter((e) => e.modelVersionId.startsWith('a'));
  assert.ok(alder.length >= 2 * 24 * 30 - 4 && alder.length <= 2 * 24 * 30, `${alder.length}`);
  assert.ok(alder.every((e) => e.modelVersionId === 'a1' && typeof e.actual === 'number' && Date.parse(e.ts) < START && Date.parse(e.ts) >= START - 2 * DAY_MS));
});

test('after the last story day the simulator sends nothing more', async () => {
  const node = fakeNode({ 'alder-farms': [champion('a1')], 'birch-valley': [champion('b1'), { id: 'b2', label: 'v2', state: 'FAILED', canaryTrafficPercent: 0 }], 'cedar-ridge': [champion('c1')] });
  let now = START + (SCRIPT.endDay - 0.1) * DAY_MS;
  const sim = new DemoSimulator({ call: node.call, tokens: { manager: 'm', admin: 'a' }, now: () => now, log: pino({ level: 'silent' }) });
  await sim.attach();
  now += HOUR;
  await sim.tick();
  const sent = node.posted.length;
  assert.ok(sent > 0, 'traffic until the end');
  now += 5 * HOUR;
  await sim.tick();
  await sim.tick();
  assert.is(node.posted.length, sent);
});

test.run();
