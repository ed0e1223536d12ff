/**
 * Request ids: every answer carries one (on a node server and in-process),
 * a safe caller id is kept, an unsafe one replaced; an error worth logging
 * is logged with the request's id and trace id.
 */
import { Hono } from 'hono';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { errorResponse } from '../../gateway/errors';
import { requestIds } from '../../gateway/middleware/request-id';
import { startLiveNode, type LiveNode } from '../support/live-node';
import { BOOTSTRAP_TOKEN } from '../support/system';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const test = suite<{ node: LiveNode }>('request ids', {} as { node: LiveNode });

test.before(async (ctx) => {
  ctx.node = await startLiveNode();
});
test.after(async (ctx) => ctx.node.stop());

const get = (node: LiveNode, path: string, headers: Record<string, string> = {}) => fetch(`${node.url}${path}`, { headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, ...headers } });

test('on a node server: every answer (success, refusal, 404, oracle) has its own id', async (ctx) => {
  const answers = await Promise.all([get(ctx.node, '/api/v1/tenants'), get(ctx.node, '/api/v1/tenants/nobody'), get(ctx.node, '/api/v1/no/such/route'), get(ctx.node, '/oracle/v1/tenants/x/snapshot', { authorization: 'Bearer nope' })]);
  assert.equal(answers.map((r) => r.status), [200, 404, 404, 401]);
  const ids = answers.map((r) => r.headers.get('x-request-id') ?? '');
  for (const id of ids) assert.match(id, UUID);
  assert.is(new Set(ids).size, ids.length);
  // The header is there once, whatever else the answer set.
  assert.is(answers[0]!.headers.get('x-request-id')!.includes(','), false);
});

test("on a node server: a safe caller id is kept; an unsafe or oversized one is replaced", async (ctx) => {
  const kept = await get(ctx.node, '/api/v1/tenants', { 'x-request-id': 'trace-me_42=' });
  assert.is(kept.headers.get('x-request-id'), 'trace-me_42=');
  for (const bad of ['has spaces', 'semi;colon', 'x'.repeat(256)]) {
    const res = await get(ctx.node, '/api/v1/tenants', { 'x-request-id': bad });
    assert.match(res.headers.get('x-request-id') ?? '', UUID, bad);
  }
});

test('in-process (app.request, no node response): the id is on the answer too', async (ctx) => {
  const res = await ctx.node.app.request('/api/v1/tenants', { headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, 'x-request-id': 'in-process-1' } });
  assert.is(res.status, 200);
  assert.is(res.headers.get('x-request-id'), 'in-process-1');
});

test('an unhandled error answers 500 without details and is logged with the request id and the trace id', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const app = new Hono().use('*', requestIds()).get('/boom', () => {
    throw new Error('secret internals');
  });
  app.onError((err, c) => errorResponse(err, c, () => log.child({ requestId: c.var.requestId, traceId: 'from-the-caller' })));
  const res = await app.request('/boom', { headers: { 'x-request-id': 'req-1' } });
  assert.is(res.status, 500);
  const body = await res.text();
  assert.not.match(body, /secret internals/);
  assert.is(lines.length, 1);
  assert.is(lines[0]!.requestId, 'req-1');
  assert.is(lines[0]!.traceId, 'from-the-caller');
  assert.is(lines[0]!.msg, 'unhandled error');
  // A refusal (a typed error) is answered, not logged.
  const refused = await app.request('/nowhere');
  assert.is(refused.status, 404);
  assert.is(lines.length, 1);
});

test.run();
