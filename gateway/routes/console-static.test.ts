import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorResponse } from '../errors';
import { consoleRoutes } from './console-static';

function appOn(dir: string) {
  const app = new Hono().get('/api/v1/ping', (c) => c.json({ pong: true })).route('/', consoleRoutes(dir));
  app.onError((err, c) => errorResponse(err, c));
  return app;
}

const built = mkdtempSync(join(tmpdir(), 'console-dist-'));
mkdirSync(join(built, 'assets'));
writeFileSync(join(built, 'index.html'), '<div id="root"></div>');
writeFileSync(join(built, 'assets', 'index-abc.js'), 'console.log(1)');
writeFileSync(join(tmpdir(), 'secret-outside.txt'), 'nope');

test.after(() => {
  rmSync(built, { recursive: true, force: true });
  rmSync(join(tmpdir(), 'secret-outside.txt'), { force: true });
});

test('serves files with their type; hashed assets are cached, index.html is not', async () => {
  const app = appOn(built);
  const js = await app.request('/assets/index-abc.js');
  assert.is(js.status, 200);
  assert.is(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  const index = await app.request('/');
  assert.is(await index.text(), '<div id="root"></div>');
  assert.is(index.headers.get('cache-control'), 'no-cache');
  const head = await app.request('/', { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(await head.text(), '');
});

test('any other path without an extension gets index.html (the console routes itself)', async () => {
  const res = await appOn(built).request('/tenant/acme');
  assert.is(res.status, 200);
  assert.is(await res.text(), '<div id="root"></div>');
});

test('never answers for the API and the other reserved paths, nor missing files, nor outside its folder', async () => {
  const app = appOn(built);
  assert.equal(await (await app.request('/api/v1/ping')).json(), { pong: true });
  for (const path of ['/api/v1/nothing', '/oracle/v1/x', '/healthz', '/readyz', '/metrics', '/live/', '/assets/missing.js', '/../secret-outside.txt', '/%2e%2e/secret-outside.txt']) {
    const res = await app.request(path);
    assert.is(res.status, 404, path);
    assert.is(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND', path);
  }
  assert.is((await app.request('/', { method: 'POST' })).status, 404);
});

test('without a build, says how to make one', async () => {
  const res = await appOn(join(built, 'nothing-here')).request('/');
  assert.is(res.status, 404);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /npm run build/);
});

test.run();
