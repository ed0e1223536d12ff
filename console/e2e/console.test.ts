import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { driftReports, modelVersions, tenants } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import { installTestCommittee, submissionOf, type TestCommittee } from '../../test/support/governance';
import { startLiveNode, type LiveNode } from '../../test/support/live-node';
import { BOOTSTRAP_TOKEN } from '../../test/support/system';
import { http, installTextWatch, launchBrowser, percentile, seenAt, shot, signIn, watchFor, type Call } from './browser';


interface Ctx {
  node: LiveNode;
  browser: Browser;
  admin: Call;
  manager: Call;
  agronomist: Call;
  tokens: { manager: string; agronomist: string };
  v1: string;
  v2: string;
  latencies: number[];
}

const ARTIFACT = (c: string) => c.repeat(64);

async function walk(ctx: Ctx, id: string, states: string[]) {
  for (const to of states) {
    const model = (await ctx.manager('GET', `/api/v1/models/${id}`)).body;
    const res = await ctx.manager('POST', `/api/v1/models/${id}/transitions`, { to, reason: 'e2e', idempotencyKey: `${id}-${to}-${model.revision}`, expectedRevision: model.revision });
    assert.is(res.status, 200, `${to}: ${res.text}`);
  }
}

/** Canary evidence comes from the CanaryGuard; here it is set directly (setup only). */
async function passCanary(ctx: Ctx, id: string) {
  await ctx.node.database.db.update(modelVersions).set({ canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, id as ModelVersionId));
}

const test = suite<Ctx>('console in a real browser', {} as Ctx);

test.before(async (ctx) => {
  ctx.browser = await launchBrowser();
  ctx.node = await startLiveNode();
  ctx.admin = http(ctx.node.url, BOOTSTRAP_TOKEN);
  const manager = await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' });
  const agronomist = await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' });
  assert.is(manager.status, 201, manager.text);
  ctx.tokens = { manager: manager.body.token, agronomist: agronomist.body.token };
  ctx.manager = http(ctx.node.url, ctx.tokens.manager);
  ctx.agronomist = http(ctx.node.url, ctx.tokens.agronomist);
  assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm', stage: 'PILOT' })).status, 201);
  for (let i = 0; i < 30; i++) await ctx.admin('POST', '/api/v1/tenants', { id: `acre-${String(i).padStart(2, '0')}`, name: `Acre ${i}` });
  ctx.v1 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT('a') })).body.id;
  ctx.v2 = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v2', owner: 'ana', featureSignature: 'ndvi,rain', artifactSha256: ARTIFACT('b') })).body.id;
  ctx.latencies = [];
});

test.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.node?.stop();
});

test('the API and live paths are never shadowed by the console; unknown paths fall back to it', async (ctx) => {
  const html = await fetch(`${ctx.node.url}/tenant/farm`);
  assert.is(html.status, 200);
  assert.match(await html.text(), /<div id="root">/);
  const api = await fetch(`${ctx.node.url}/api/v1/nothing-here`);
  assert.is(api.status, 401, 'the API answers for /api, not the console');
  assert.is((await fetch(`${ctx.node.url}/healthz`)).headers.get('content-type')?.includes('json'), true);
  assert.is((await fetch(`${ctx.node.url}/assets/missing.js`)).status, 404);
  assert.is((await fetch(`${ctx.node.url}/..%2f..%2fpackage.json`)).status, 404);
});

test('a bad token is refused in words; each role signs in and sees its role', async (ctx) => {
  const context = await ctx.browser.newContext({ baseURL: ctx.node.url });
  const page = await context.newPage();
  await page.goto('/');
  await shot(page, 'login');
  await page.getByLabel('Operator token').fill('not-a-token-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match((await alert.textContent()) ?? '', /Sign-in failed — UNAUTHENTICATED: unknown, revoked or expired token/);
  await context.close();
  for (const [token, role] of [[BOOTSTRAP_TOKEN, 'ADMIN'], [ctx.tokens.manager, 'MANAGER'], [ctx.tokens.agronomist, 'AGRONOMIST']] as const) {
    const { context: c, page: p } = await signIn(ctx.browser, ctx.node.url, token);
    assert.is(await p.getByTestId('role').textContent(), role);
    await c.close();
  }
});

test('the tenants list shows a transition made through the API, live; update latency measured', async (ctx) => {
  const { context, page } = await signIn(ctx.browser, ctx.node.url, BOOTSTRAP_TOKEN);
  await page.getByText('31 of 31 tenants').waitFor();
  // farm sorts after the 30 acres, below the rendered window of the virtualized list.
  assert.is(await page.locator('[data-tenant="farm"]').count(), 0, 'rows out of view are not in the DOM');
  await page.getByRole('searchbox').fill('farm');
  await page.getByText('1 of 31 tenants').waitFor();
  await installTextWatch(page);
  const canaryCell = '[data-tenant="farm"] [data-testid="canary"]';
  // v1 → CHAMPION (approval recorded), v2 → CANARY: each shows in the row.
  await walk(ctx, ctx.v1, ['TRAINING', 'VALIDATED', 'SHADOW', 'CANARY']);
  await page.locator(canaryCell, { hasText: /^v1 @ [\d.]+%$/ }).waitFor({ timeout: 5_000 }).catch(async (err) => {
    await shot(page, 'failed-canary');
    throw err;
  });
  await passCanary(ctx, ctx.v1);
  assert.is((await ctx.manager('POST', `/api/v1/models/${ctx.v1}/approvals`, { decision: 'approve', justification: 'first champion' })).status, 201);
  await walk(ctx, ctx.v1, ['CHAMPION']);
  await page.locator('[data-tenant="farm"] [data-testid="champion"]', { hasText: 'v1' }).waitFor({ timeout: 5_000 });
  await walk(ctx, ctx.v2, ['TRAINING', 'VALIDATED', 'SHADOW', 'CANARY']);
  await shot(page, 'tenants');
  // Latency: API call sent → the DOM shows the new canary traffic.
  for (let i = 1; i <= 25; i++) {
    const value = i * 3;
    await watchFor(page, canaryCell, `v2 @ ${value}%`);
    const sent = Date.now();
    const res = await ctx.manager('PUT', `/api/v1/models/${ctx.v2}/canary/traffic`, { percent: value, reason: `wave check ${i}` });
    assert.is(res.status, 200, res.text);
    ctx.latencies.push((await seenAt(page, canaryCell, `v2 @ ${value}%`)) - sent);
  }
  const p95 = percentile(ctx.latencies, 95);
  console.log(`live update latency (API call → DOM), n=${ctx.latencies.length}: p50 ${percentile(ctx.latencies, 50)} ms, p95 ${p95} ms (target < 250 ms)`);
  assert.ok(p95 < 1_000, `p95 ${p95} ms is far above the 250 ms target`);
  // The Engineer view shows the latency this console measured.
  await page.getByRole('link', { name: 'Engineer' }).click();
  const shown = (await page.getByTestId('latency-p95').textContent()) ?? '';
  assert.match(shown, /^\d+ ms$/);
  // Node health and queue depths come from the node's /metrics.
  await page.getByTestId('dependencies').filter({ hasText: 'embedded-database up' }).waitFor();
  assert.match((await page.getByTestId('mailbox-queued').textContent()) ?? '', /\d/);
  await shot(page, 'engineer');
  // Search filters the virtualized list.
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByRole('searchbox').fill('acre-1');
  await page.getByText('10 of 31 tenants').waitFor();
  await page.getByRole('searchbox').fill('');
  await page.getByText('31 of 31 tenants').waitFor();
  await page.getByTestId('tenant-viewport').hover();
  await page.mouse.wheel(0, 2_000);
  await page.locator('[data-tenant="farm"]').waitFor();
  await context.close();
});

test('a MANAGER approves a version with a justification and is refused without one', async (ctx) => {
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.tokens.manager);
  await page.getByRole('link', { name: 'Approvals' }).click();
  const card = page.locator(`[data-approval="${ctx.v2}"]`);
  await card.waitFor();
  await shot(page, 'approvals');
  await card.getByRole('button', { name: 'Approve' }).click();
  await card.getByRole('button', { name: 'Confirm approve' }).click();
  const refusal = card.getByRole('alert');
  await refusal.waitFor();
  assert.match((await refusal.textContent()) ?? '', /The request was refused \(BAD_REQUEST\): .*justification/i);
  const before = (await ctx.manager('GET', `/api/v1/approvals/pending`)).body.items as Array<{ modelVersionId: string }>;
  assert.ok(before.some((p) => p.modelVersionId === ctx.v2), 'no approval was recorded by the refused attempt');
  await card.getByLabel('Justification (required)').first().fill('canary p < 0.05 on 1,200 samples per arm');
  await card.getByRole('button', { name: 'Confirm approve' }).click();
  await card.waitFor({ state: 'detached', timeout: 5_000 });
  const after = (await ctx.manager('GET', `/api/v1/approvals/pending`)).body.items as Array<{ modelVersionId: string }>;
  assert.not.ok(after.some((p) => p.modelVersionId === ctx.v2));
  await page.getByTestId('approvals-empty').waitFor();
  await context.close();
});

test('an ADMIN sees a rollback happen on the tenant page', async (ctx) => {
  await passCanary(ctx, ctx.v2);
  await walk(ctx, ctx.v2, ['CHAMPION']);
  const { context, page } = await signIn(ctx.browser, ctx.node.url, BOOTSTRAP_TOKEN);
  await page.goto('/#/tenant/farm');
  await page.getByTestId('detail-champion').getByText('v2').waitFor({ timeout: 5_000 });
  await shot(page, 'tenant-detail');
  await page.getByRole('button', { name: 'Rollback' }).click();
  await page.getByLabel('Reason').fill('v2 predictions are off in the north fields');
  await page.getByRole('button', { name: 'Confirm rollback' }).click();
  await page.getByTestId('detail-champion').getByText('v1').waitFor({ timeout: 5_000 });
  await page.getByTestId('detail-locks').getByText(/forensic lock/).waitFor({ timeout: 5_000 });
  await page.locator(`[data-model="${ctx.v2}"] [data-testid="model-state"]`, { hasText: 'ROLLED_BACK' }).waitFor({ timeout: 5_000 });
  await shot(page, 'tenant-after-rollback');
  for (const view of ['alerts', 'audit', 'executive', 'agronomist']) {
    await page.goto(`/#/${view}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.waitForTimeout(300);
    await shot(page, view);
  }
  await context.close();
});

test('a MANAGER acknowledges the rollback P1 alert and the open count drops live', async (ctx) => {
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.tokens.manager);
  await page.getByRole('searchbox').fill('farm');
  const count = page.locator('[data-tenant="farm"] [data-testid="alerts"]');
  await count.getByText('1', { exact: true }).waitFor({ timeout: 5_000 });
  await page.getByRole('link', { name: 'Alerts' }).click();
  const p1 = page.locator('.sev-P1').first();
  await p1.waitFor();
  assert.match((await p1.getByTestId('sla').textContent()) ?? '', /to acknowledge|SLA missed by/);
  await p1.getByRole('button', { name: 'Acknowledge' }).click();
  await p1.getByLabel('Note').fill('rolled back, investigating');
  await p1.getByRole('button', { name: 'Confirm acknowledge' }).click();
  await page.locator('.sev-P1').waitFor({ state: 'detached', timeout: 5_000 });
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByRole('searchbox').fill('farm');
  await count.getByText('0', { exact: true }).waitFor({ timeout: 5_000 });
  await context.close();
});

test('drift trend and chart from the signed reports; a refused retrain is explained and shown as the last refusal', async (ctx) => {
  for (const [i, day] of ['2026-11-25', '2026-11-26', '2026-11-27'].entries()) {
    await ctx.node.database.db.insert(driftReports).values({
      id: crypto.randomUUID(), tenantId: 'farm' as TenantId, day, score: 0.1 + i * 0.1, driftScore: 0.1 + i * 0.05, breach: false,
      metrics: { score: 0.1 + i * 0.1, streak: i, breach: false, features: { ndvi: { psi: 0.1 + i * 0.1, kl: 0.05 } }, models: { [ctx.v1]: { relativeMaeDelta: 0.02 * i } } },
      digest: 'd'.repeat(64), kid: 'k', signature: 's',
    });
  }
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.tokens.manager);
  await page.getByRole('searchbox').fill('farm');
  const spark = page.locator('[data-tenant="farm"] svg.spark');
  await spark.waitFor();
  assert.is((await spark.locator('polyline').getAttribute('points'))?.split(' ').length, 3, 'three days in the sparkline');
  await page.getByRole('link', { name: 'farm' }).click();
  // The chart is drawn (empty) before the reports arrive: wait for the day, not for the canvas.
  await page.getByRole('img', { name: /^Drift per day:.*2026-11-27 PSI 0\.300/ }).waitFor({ timeout: 5_000 });
  await page.locator('.uplot canvas').first().waitFor({ timeout: 5_000 });
  // farm is under the rollback's forensic lock: retraining is refused, in words.
  await page.getByRole('button', { name: 'Retrain' }).click();
  await page.getByLabel('Reason').fill('new season');
  await page.getByRole('button', { name: 'Confirm retrain' }).click();
  const refusal = page.locator('.action').getByRole('alert');
  await refusal.waitFor({ timeout: 5_000 });
  assert.match((await refusal.textContent()) ?? '', /^Refused \(LOCKED\): .+/);
  await page.getByRole('row', { name: /forensicLock/ }).getByText(/LOCKED/).waitFor({ timeout: 5_000 }).catch(async (err) => {
    await shot(page, 'failed-refusal');
    throw err;
  });
  await shot(page, 'tenant-drift-and-refusal');
  await context.close();
});

test('the audit view verifies the chain, searches and exports', async (ctx) => {
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.tokens.agronomist);
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByTestId('chain-status').getByText(/^Chain verified: \d+ entries/).waitFor({ timeout: 10_000 });
  await page.getByRole('searchbox').fill('tenant.rollback');
  const rows = page.locator('tbody tr');
  await rows.first().waitFor();
  for (const text of await rows.allTextContents()) assert.match(text, /tenant\.rollback/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export (JSON Lines)' }).click()]);
  const file = await download.path();
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(file!, 'utf8').trim().split('\n');
  assert.ok(lines.length > 10 && lines.every((l) => typeof JSON.parse(l).hash === 'string'), 'JSON Lines of entries');
  await context.close();
});

test('governance progress moves as shares arrive', async (ctx) => {
  const committee: TestCommittee = await installTestCommittee(ctx.admin);
  const proposed = await ctx.manager('POST', '/api/v1/governance/unlocks', { action: 'tenant.forensic-lock.lift', params: { tenantId: 'farm' }, justification: 'forensics done' });
  assert.is(proposed.status, 201, proposed.text);
  const request = proposed.body as { id: string; actionHash: string; nonce: string; threshold: number };
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.tokens.manager);
  await page.getByRole('link', { name: 'Governance' }).click();
  const progress = page.locator(`[data-unlock="${request.id}"] [data-testid="unlock-progress"]`);
  await progress.getByText(`0 of ${request.threshold}`).waitFor();
  for (let i = 0; i < request.threshold; i++) {
    const res = await ctx.manager('POST', `/api/v1/governance/unlocks/${request.id}/shares`, submissionOf(committee.members, committee.shares, i, request));
    assert.is(res.status, 200, res.text);
    await progress.getByText(`${i + 1} of ${request.threshold}`).waitFor({ timeout: 5_000 });
    if (i === 2) await shot(page, 'governance');
  }
  await context.close();
  // With the unlock granted, an ADMIN lifts the forensic lock from the tenant page.
  const admin = await signIn(ctx.browser, ctx.node.url, BOOTSTRAP_TOKEN);
  await admin.page.goto('/#/tenant/farm');
  await admin.page.getByTestId('detail-locks').getByText(/^forensic lock/).waitFor({ timeout: 5_000 });
  await admin.page.getByRole('button', { name: 'Lift forensic lock' }).click();
  await admin.page.getByLabel('Justification').fill('forensics done, committee agreed');
  await admin.page.getByLabel(/Governance unlock id/).fill(request.id);
  await admin.page.getByRole('button', { name: 'Confirm lift forensic lock' }).click();
  await admin.page.getByTestId('detail-locks').getByText(/^no forensic lock/).waitFor({ timeout: 5_000 });
  await admin.context.close();
});

test('an AGRONOMIST sees no action buttons, and the API refuses the actions anyway', async (ctx) => {
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.tokens.agronomist);
  await page.goto('/#/tenant/farm');
  await page.getByTestId('detail-stage').waitFor();
  assert.is(await page.getByTestId('actions').count(), 0);
  for (const name of ['Rollback', 'Retrain', 'Forensic lock', 'Baseline reset']) assert.is(await page.getByRole('button', { name }).count(), 0, name);
  await page.getByRole('link', { name: 'Approvals' }).click();
  await page.getByRole('heading', { name: 'Approvals' }).waitFor();
  assert.is(await page.getByRole('button', { name: 'Approve' }).count(), 0);
  await shot(page, 'agronomist-tenant');
  for (const [path, body] of [
    ['/api/v1/tenants/farm/rollback', { reason: 'x' }],
    ['/api/v1/tenants/farm/retrain', { reason: 'x' }],
    ['/api/v1/tenants/farm/lock', { reason: 'x' }],
    [`/api/v1/models/${ctx.v2}/approvals`, { decision: 'approve', justification: 'x' }],
  ] as const) {
    const res = await ctx.agronomist('POST', path, body);
    assert.is(res.status, 403, `${path}: ${res.text}`);
  }
  await context.close();
});

test('revoking a signed-in operator token signs the console out, saying why', async (ctx) => {
  const made = await ctx.admin('POST', '/api/v1/users', { name: 'temp', role: 'MANAGER' });
  const { context, page } = await signIn(ctx.browser, ctx.node.url, made.body.token);
  assert.is((await ctx.admin('DELETE', `/api/v1/users/temp/tokens/${made.body.tokenId}`)).status, 200);
  await page.getByRole('alert').getByText(/Signed out: your token was revoked or has expired/).waitFor({ timeout: 5_000 }).catch(async (err) => {
    await shot(page, 'failed-revoke');
    throw err;
  });
  await page.getByLabel('Operator token').waitFor();
  await page.reload();
  assert.is(await page.getByLabel('Operator token').isVisible(), true, 'the revoked token is not kept');
  await context.close();
});

test('the tenants list stays usable with 10,000 tenants (virtualized)', async (ctx) => {
  // Bulk rows straight into the store (setup only: 10,000 API calls would test the API, not the list).
  for (let chunk = 0; chunk < 10; chunk++) {
    await ctx.node.database.db.insert(tenants).values(
      Array.from({ length: 1_000 }, (_, i) => ({ id: `bulk-${String(chunk * 1_000 + i).padStart(5, '0')}` as TenantId, name: `Bulk ${chunk * 1_000 + i}` })),
    );
  }
  const t0 = Date.now();
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.tokens.agronomist);
  await page.getByText('10031 of 10031 tenants').waitFor({ timeout: 20_000 });
  console.log(`10,031 tenants: signed in and listed in ${Date.now() - t0} ms`);
  const rows = await page.locator('[data-tenant]').count();
  assert.ok(rows > 0 && rows < 100, `only the rows in view are rendered (${rows})`);
  const s0 = Date.now();
  // Keyboard: the list scrolls from the keyboard to its last row.
  await page.getByTestId('tenant-viewport').focus();
  await page.keyboard.press('End');
  await page.locator('[data-tenant="farm"]').waitFor({ timeout: 5_000 });
  await page.getByRole('searchbox').fill('bulk-0999');
  await page.getByText('10 of 10031 tenants').waitFor({ timeout: 5_000 });
  console.log(`scroll to the end and search: ${Date.now() - s0} ms`);
  await shot(page, 'tenants-10k');
  await context.close();
});

test.run();
