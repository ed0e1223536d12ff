import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startLiveNode, type LiveNode } from '../../test/support/live-node';
import { realServicesEnv, requireNats, requirePostgres } from '../../test/support/services';
import { flagBody } from '../../test/support/flags';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../../test/support/system';
import { launchBrowser, shot, signIn } from './browser';

interface Ctx {
  node: LiveNode;
  browser: Browser;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function call(ctx: Ctx, method: string, path: string, body?: unknown) {
  const res = await fetch(`${ctx.node.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const test = suite<Ctx>('console on PostgreSQL + NATS', {} as Ctx);

test.before(async (ctx) => {
  const made = await realServicesEnv('console');
  ctx.cleanup = made.cleanup;
  ctx.env = made.env;
  ctx.node = await startLiveNode({ ...made.env, TOLLGATE_NODE_ID: 'console-live' });
  ctx.browser = await launchBrowser();
});

test.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.node?.stop();
  await ctx.cleanup?.();
});

test('tenants and versions appear and move live over the NATS event stream', async (ctx) => {
  const { context, page } = await signIn(ctx.browser, ctx.node.url, BOOTSTRAP_TOKEN);
  assert.is((await call(ctx, 'POST', '/api/v1/tenants', { id: 'north', name: 'North', stage: 'PILOT' })).status, 201);
  await page.locator('[data-tenant="north"] [data-testid="stage"]', { hasText: 'PILOT' }).waitFor({ timeout: 5_000 });
  const id = (await call(ctx, 'POST', '/api/v1/tenants/north/models', { label: 'n1', owner: 'ana', featureSignature: 'ndvi', artifactSha256: 'e'.repeat(64) })).body.id as string;
  for (const [rev, to] of ['TRAINING', 'VALIDATED', 'SHADOW', 'CANARY'].entries()) {
    assert.is((await call(ctx, 'POST', `/api/v1/models/${id}/transitions`, { to, reason: 'e2e', idempotencyKey: `${id}-${to}`, expectedRevision: rev })).status, 200);
  }
  await page.locator('[data-tenant="north"] [data-testid="canary"]', { hasText: /^n1 @/ }).waitFor({ timeout: 5_000 });
  assert.is((await call(ctx, 'PUT', `/api/v1/models/${id}/canary/traffic`, { percent: 42, reason: 'wave' })).status, 200);
  await page.locator('[data-tenant="north"] [data-testid="canary"]', { hasText: 'n1 @ 42%' }).waitFor({ timeout: 5_000 });
  await shot(page, 'tenants-postgres-nats');
  await context.close();
});

test('a flag killed through another node reaches the Flags view over NATS within a second', async (ctx) => {
  assert.is((await call(ctx, 'POST', '/api/v1/flags', flagBody('north-ranker'))).status, 201);
  const { context, page } = await signIn(ctx.browser, ctx.node.url, BOOTSTRAP_TOKEN);
  await page.goto('/#/flags');
  await page.getByTestId('flags-status').getByText('live').waitFor({ timeout: 5_000 });
  const state = page.locator('[data-flag="north-ranker"] [data-testid="flag-state"]');
  await state.getByText('on its stage').waitFor({ timeout: 5_000 });
  // A second node on the same database and NATS subjects takes the kill.
  const other = await startTestSystem({ ...ctx.env, TOLLGATE_NODE_ID: 'console-other' });
  try {
    const sent = Date.now();
    const res = await client(other.app, BOOTSTRAP_TOKEN)('POST', '/api/v1/flags/north-ranker/kill', { reason: 'error spike on the other node' });
    assert.is(res.status, 200, res.text);
    await state.getByText('KILLED').waitFor({ timeout: 1_000 });
    console.log(`kill on another node → Flags view: ${Date.now() - sent} ms (target < 1 s)`);
  } finally {
    await other.dispose();
  }
  await context.close();
});

if ((await requirePostgres()) && (await requireNats())) test.run();
