/**
 * Body limits as node serves them: a Content-Length body is checked by its
 * number and read by the node adapter's direct path; chunked bodies are
 * counted as they arrive. Both refuse with 413 and write nothing.
 */
import { request } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_BODY_BYTES } from '../../gateway/app';
import { startLiveNode, type LiveNode } from '../support/live-node';
import { BOOTSTRAP_TOKEN } from '../support/system';

const test = suite<{ node: LiveNode }>('request bodies on a node HTTP server', {} as { node: LiveNode });

test.before(async (ctx) => {
  ctx.node = await startLiveNode();
});
test.after(async (ctx) => ctx.node.stop());

interface Reply {
  status: number;
  body: { error?: { code: string; message: string }; [k: string]: unknown };
}

/** One request with a body sent as given: a Content-Length, or chunks (chunked encoding). */
function send(node: LiveNode, method: string, path: string, body: string | string[], token: string | null = BOOTSTRAP_TOKEN): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
    const req = request(`${node.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
    });
    req.on('error', reject);
    for (const part of typeof body === 'string' ? [body] : body) req.write(part);
    req.end();
  });
}

const tenant = (id: string, padding = 0) => JSON.stringify({ id, name: `Tenant ${id}${'x'.repeat(padding)}` });

test('a command with a Content-Length body is read and applied', async (ctx) => {
  const res = await send(ctx.node, 'POST', '/api/v1/tenants', tenant('fields'));
  assert.is(res.status, 201, JSON.stringify(res.body));
  assert.is(res.body.id, 'fields');
});

test('a body over the limit by its Content-Length → 413 before any of it is used; nothing written', async (ctx) => {
  const res = await send(ctx.node, 'POST', '/api/v1/tenants', tenant('too-big', MAX_BODY_BYTES));
  assert.is(res.status, 413);
  assert.is(res.body.error?.code, 'PAYLOAD_TOO_LARGE');
  assert.match(res.body.error?.message ?? '', /larger than 262144 bytes/);
  const after = await send(ctx.node, 'GET', '/api/v1/tenants/too-big', '');
  assert.is(after.status, 404, 'the tenant was not created');
});

test('a chunked body over the limit → 413; nothing written', async (ctx) => {
  const body = tenant('chunked-big', MAX_BODY_BYTES);
  const res = await send(ctx.node, 'POST', '/api/v1/tenants', [body.slice(0, 1000), body.slice(1000)]);
  assert.is(res.status, 413);
  assert.is(res.body.error?.code, 'PAYLOAD_TOO_LARGE');
  assert.is((await send(ctx.node, 'GET', '/api/v1/tenants/chunked-big', '')).status, 404);
});

test('a chunked body within the limit is read and applied', async (ctx) => {
  const body = tenant('chunked');
  const res = await send(ctx.node, 'POST', '/api/v1/tenants', [body.slice(0, 10), body.slice(10)]);
  assert.is(res.status, 201, JSON.stringify(res.body));
});

test('malformed JSON and unknown fields are 400s naming the problem; without a token 401', async (ctx) => {
  const bad = await send(ctx.node, 'POST', '/api/v1/tenants', '{"id": "x",');
  assert.is(bad.status, 400);
  assert.match(bad.body.error?.message ?? '', /malformed JSON/);
  const extra = await send(ctx.node, 'POST', '/api/v1/tenants', JSON.stringify({ id: 'x', name: 'X', colour: 'red' }));
  assert.is(extra.status, 400);
  assert.match(extra.body.error?.message ?? '', /colour/);
  const anon = await send(ctx.node, 'POST', '/api/v1/tenants', tenant('anon'), null);
  assert.is(anon.status, 401);
});

test('the connection stays usable after a refused body (keep-alive, next request answered)', async (ctx) => {
  for (let i = 0; i < 3; i++) assert.is((await send(ctx.node, 'POST', '/api/v1/tenants', tenant(`big-${i}`, MAX_BODY_BYTES))).status, 413);
  assert.is((await send(ctx.node, 'POST', '/api/v1/tenants', tenant('after'))).status, 201);
});

test.run();
