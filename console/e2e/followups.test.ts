import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mulberry32 } from '../../control-plane/kernels/canary/sample';
import { CommandTrainer } from '../../control-plane/retrain/trainers/command-trainer';
import { learningEvents, modelVersions, retrainRuns } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import { startLiveNode, type LiveNode } from '../../test/support/live-node';
import { BOOTSTRAP_TOKEN } from '../../test/support/system';
import { http, launchBrowser, shot, signIn, type Call } from './browser';


interface Ctx {
  node: LiveNode;
  browser: Browser;
  admin: Call;
  manager: Call;
  managerToken: string;
  dir: string;
  batch: number;
}

const HOUR = 3_600_000;
const ARTIFACT = (c: string) => c.repeat(64);
const rand = mulberry32(7);
const expo = (mean: number) => -Math.log(1 - rand()) * mean;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

async function walk(ctx: Ctx, id: string, states: string[]) {
  for (const to of states) {
    const model = (await ctx.manager('GET', `/api/v1/models/${id}`)).body;
    const res = await ctx.manager('POST', `/api/v1/models/${id}/transitions`, { to, reason: 'e2e', idempotencyKey: `${id}-${to}-${model.revision}`, expectedRevision: model.revision });
    assert.is(res.status, 200, `${to}: ${res.text}`);
  }
}

async function newModel(ctx: Ctx, tenant: string, label: string, c: string): Promise<string> {
  const res = await ctx.manager('POST', `/api/v1/tenants/${tenant}/models`, { label, owner: 'ana', featureSignature: 'ndvi', artifactSha256: ARTIFACT(c) });
  assert.is(res.status, 201, res.text);
  return res.body.id;
}

/** The first champion placed directly (setup only: its own promotion is not under test). */
async function placeChampion(ctx: Ctx, tenant: string, id: string) {
  await ctx.node.database.db.update(modelVersions).set({ state: 'CHAMPION', canaryVerdict: 'PASSED' }).where(eq(modelVersions.id, id as ModelVersionId));
  await ctx.node.database.db.execute(sql`update tenants set champion_id = ${id}::uuid where id = ${tenant}`);
  await ctx.node.routing.reload(tenant);
}

async function stored(ctx: Ctx, tenant: string): Promise<number> {
  const [r] = await ctx.node.database.db.select({ n: sql<number>`count(*)::int` }).from(learningEvents).where(eq(learningEvents.tenantId, tenant as TenantId));
  return r!.n;
}

/** Labelled predictions of one model through the ingestion API, timestamped now; waits until stored. */
async function post(ctx: Ctx, tenant: string, modelId: string, n: number, error: () => number) {
  const now = ctx.node.clock.now().getTime();
  const batch = ctx.batch++;
  const events = Array.from({ length: n }, (_, i) => {
    const actual = 3 + rand();
    return { idempotencyKey: `b${batch}-${i}`, modelVersionId: modelId, ts: new Date(now + i).toISOString(), features: { ndvi: rand() }, prediction: actual + (rand() < 0.5 ? -1 : 1) * error(), actual };
  });
  const before = await stored(ctx, tenant);
  for (let i = 0; i < n; i += 2_000) {
    const res = await ctx.manager('POST', `/api/v1/tenants/${tenant}/events`, { events: events.slice(i, i + 2_000) });
    assert.is(res.status, 200, res.text);
  }
  await until(async () => (await stored(ctx, tenant)) >= before + n, `${n} events stored`);
}

async function promotion(ctx: Ctx, id: string) {
  return (await ctx.manager('GET', `/api/v1/models/${id}/promotion`)).body.promotion;
}

/** Lets the measurement timer fire and waits for the evaluation it leads to. */
async function measure(ctx: Ctx, id: string) {
  const before = (await promotion(ctx, id)).ledger.length;
  ctx.node.clock.increment(HOUR);
  return until(async () => {
    const p = await promotion(ctx, id);
    return p.ledger.length > before || p.ledger.length === 50 ? p : null;
  }, `an evaluation of ${id}`);
}

const test = suite<Ctx>('console follow-ups: resume after a reconnect, canary evidence, retrain progress, executive impact', {} as Ctx);

test.before(async (ctx) => {
  ctx.batch = 0;
  ctx.dir = mkdtempSync(join(tmpdir(), 'tg-console-trainer-'));
  // A trainer that waits until the test lets it finish: the saga is seen running.
  const script = join(ctx.dir, 'trainer.mjs');
  writeFileSync(
    script,
    `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const [test, out, go] = process.argv.slice(2);
const started = Date.now();
const tick = setInterval(() => {
  if (!existsSync(go) && Date.now() - started < 60_000) return;
  clearInterval(tick);
  const rows = readFileSync(test, 'utf8').split('\\n').filter(Boolean).map((l) => JSON.parse(l));
  writeFileSync(out + '/artifact.bin', 'model');
  writeFileSync(out + '/metrics.json', JSON.stringify({ predictions: rows.map(() => 0) }));
}, 50);`,
  );
  ctx.browser = await launchBrowser();
  ctx.node = await startLiveNode({}, {}, { retrain: { trainer: new CommandTrainer({ command: process.execPath, args: [script, '{test}', '{out}', join(ctx.dir, 'go')] }) } });
  ctx.admin = http(ctx.node.url, BOOTSTRAP_TOKEN);
  const manager = await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' });
  assert.is(manager.status, 201, manager.text);
  ctx.managerToken = manager.body.token;
  ctx.manager = http(ctx.node.url, ctx.managerToken);
  for (const id of ['barn', 'farm', 'silo']) assert.is((await ctx.admin('POST', '/api/v1/tenants', { id, name: id, stage: 'PILOT' })).status, 201);
});

test.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.node?.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

/** Signs in with the live channel's WebSocket routed through the test, which can cut it and hold reconnections off. */
async function signInCuttable(ctx: Ctx, token: string): Promise<{ context: BrowserContext; page: Page; cut(): void; restore(): void }> {
  const context = await ctx.browser.newContext({ baseURL: ctx.node.url, viewport: { width: 1280, height: 900 } });
  let paused = false;
  const open = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  await context.routeWebSocket(/\/live\//, (ws) => {
    if (paused) return void ws.close({ code: 1011, reason: 'test: network down' });
    const pair = { page: ws, server: ws.connectToServer() };
    open.add(pair);
  });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid="live-status"]', { hasText: 'live' }).waitFor({ timeout: 10_000 });
  return {
    context,
    page,
    cut: () => {
      paused = true;
      for (const p of open) {
        void p.server.close({ code: 1001 });
        void p.page.close({ code: 1011, reason: 'test: network down' });
      }
      open.clear();
    },
    restore: () => {
      paused = false;
    },
  };
}

async function engineerNumbers(page: Page): Promise<{ seq: number; deltas: number; subscribe: string }> {
  await page.goto('/#/engineer');
  await page.getByTestId('last-seq').waitFor();
  return {
    seq: Number(await page.getByTestId('last-seq').textContent()),
    deltas: Number(await page.getByTestId('delta-count').textContent()),
    subscribe: (await page.getByTestId('last-subscribe').textContent()) ?? '',
  };
}

test('the browser resumes after its socket is cut: changes made meanwhile show once, none lost, none twice', async (ctx) => {
  const b1 = await newModel(ctx, 'barn', 'b1', 'a');
  await placeChampion(ctx, 'barn', b1);
  const b2 = await newModel(ctx, 'barn', 'b2', 'b');
  const session = await signInCuttable(ctx, BOOTSTRAP_TOKEN);
  const { page } = session;
  await walk(ctx, b2, ['TRAINING', 'VALIDATED', 'SHADOW', 'CANARY']);
  assert.is((await ctx.manager('PUT', `/api/v1/models/${b2}/canary/traffic`, { percent: 3, reason: 'first wave' })).status, 200);
  await page.getByRole('searchbox').fill('barn');
  const cell = page.locator('[data-tenant="barn"] [data-testid="canary"]');
  await cell.getByText('b2 @ 3%').waitFor({ timeout: 5_000 });
  const before = await engineerNumbers(page);
  assert.match(before.subscribe, /full snapshot/);
  await page.goto('/#/tenants');
  await page.getByRole('searchbox').fill('barn');
  session.cut();
  await page.locator('[data-testid="live-status"]', { hasText: 'reconnecting' }).waitFor({ timeout: 5_000 });
  // Meanwhile, two changes through the API: the page cannot hear them.
  for (const percent of [7, 9]) assert.is((await ctx.manager('PUT', `/api/v1/models/${b2}/canary/traffic`, { percent, reason: `wave ${percent}` })).status, 200);
  await sleep(300);
  assert.is(await cell.textContent(), 'b2 @ 3%', 'nothing arrives while the socket is down');
  await shot(page, 'reconnecting');
  session.restore();
  // The next attempt comes within the console's 3 s backoff cap; allow for a loaded CI machine.
  await page.locator('[data-testid="live-status"]', { hasText: 'live' }).waitFor({ timeout: 30_000 });
  await cell.getByText('b2 @ 9%').waitFor({ timeout: 5_000 });
  const after = await engineerNumbers(page);
  const missed = Number(/resumed, (\d+) missed/.exec(after.subscribe)?.[1] ?? NaN);
  assert.ok(missed >= 2, `resumed with the missed deltas, not a new snapshot: ${after.subscribe}`);
  // Every sequence number applied exactly once: as many deltas as the sequence moved.
  assert.is(after.deltas - before.deltas, after.seq - before.seq, `deltas ${before.deltas}→${after.deltas}, seq ${before.seq}→${after.seq}`);
  assert.is(after.seq - before.seq, missed);
  await session.context.close();
});

test('the canary panel shows real evidence: arms with their samples, p-value and the guard decision', async (ctx) => {
  const v1 = await newModel(ctx, 'farm', 'v1', 'c');
  await placeChampion(ctx, 'farm', v1);
  const v2 = await newModel(ctx, 'farm', 'v2', 'd');
  await walk(ctx, v2, ['TRAINING', 'VALIDATED', 'SHADOW']);
  await until(() => promotion(ctx, v2), 'the promotion starts on SHADOW');
  await post(ctx, 'farm', v1, 300, () => expo(1));
  await post(ctx, 'farm', v2, 300, () => expo(0.8));
  for (let i = 0; i < 3; i++) await measure(ctx, v2);
  await until(async () => (await promotion(ctx, v2)).stage === 'canary-1', 'shadow → canary-1');
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.managerToken);
  await page.goto('/#/tenant/farm');
  const panel = page.locator('section[aria-labelledby="canary-h"]');
  await panel.waitFor({ timeout: 5_000 });
  await panel.getByText(/Stage canary-1/).waitFor({ timeout: 5_000 });
  // Under the minimum sample: CONTINUE, shown with its reason.
  const first = await measure(ctx, v2);
  assert.is(first.evidence.decision, 'CONTINUE', JSON.stringify(first.evidence));
  await post(ctx, 'farm', v1, 1_200, () => expo(1));
  await post(ctx, 'farm', v2, 1_200, () => expo(0.8));
  const decided = await measure(ctx, v2);
  assert.is(decided.stage, 'canary-10', JSON.stringify(decided.evidence));
  const ev = decided.evidence;
  await panel.getByText(/Stage canary-10/).waitFor({ timeout: 5_000 });
  const arm = (name: string) => panel.getByRole('row', { name: new RegExp(`^${name}`) });
  await arm('control').getByText(String(ev.n.control)).waitFor({ timeout: 5_000 });
  await arm('canary').getByText(String(ev.n.canary)).waitFor();
  assert.ok(ev.n.control >= 1_000 && ev.n.canary >= 1_000, JSON.stringify(ev.n));
  assert.match((await arm('control').textContent()) ?? '', new RegExp(ev.mae.control.toPrecision(3).replace('.', '\\.')));
  assert.match((await arm('canary').textContent()) ?? '', new RegExp(ev.mae.canary.toPrecision(3).replace('.', '\\.')));
  const facts = (await panel.locator('dl.facts').textContent()) ?? '';
  assert.ok(ev.pValue < 0.05, `p = ${ev.pValue}`);
  assert.ok(facts.includes(`p-value${Number(ev.pValue).toPrecision(3)}`), facts);
  assert.ok(facts.includes(`Decision${ev.decision}: ${ev.reason}`), facts);
  assert.ok(facts.includes(`${(ev.relativeDeltaMae * 100).toFixed(2)} %`), facts);
  await shot(page, 'canary-evidence');
  await context.close();
});

test('the executive headline: the champion promoted through the canary is measured against the one it replaced', async (ctx) => {
  const v2 = (await ctx.manager('GET', '/api/v1/tenants/farm/models')).body.items.find((m: { label: string }) => m.label === 'v2').id as string;
  const v1 = (await ctx.manager('GET', '/api/v1/tenants/farm/models')).body.items.find((m: { label: string }) => m.label === 'v1').id as string;
  for (const next of ['canary-50', 'champion']) {
    await post(ctx, 'farm', v1, 1_200, () => expo(1));
    await post(ctx, 'farm', v2, 1_200, () => expo(0.8));
    const p = await measure(ctx, v2);
    assert.is(p.stage, next, JSON.stringify(p.evidence));
  }
  assert.is((await ctx.manager('POST', `/api/v1/models/${v2}/approvals`, { decision: 'approve', justification: 'MAE lower over three waves' })).status, 201);
  await until(async () => (await ctx.manager('GET', `/api/v1/models/${v2}`)).body.state === 'CHAMPION', 'v2 champion');
  ctx.node.clock.increment(60_000);
  await post(ctx, 'farm', v2, 500, () => 0.5);
  const impact = (await ctx.manager('GET', '/api/v1/impact/accuracy')).body;
  const farm = impact.tenants.find((t: { tenantId: string }) => t.tenantId === 'farm');
  assert.is(farm.current.n, 500);
  assert.is(farm.previous.n, 300 + 3 * 1_200, 'every v1 prediction of the shadow and canary waves');
  assert.ok(farm.relativeMaeChange < -0.3, JSON.stringify(farm));
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.managerToken);
  await page.getByRole('link', { name: 'Executive' }).click();
  const headline = page.getByTestId('impact-headline');
  await headline.waitFor();
  const text = (await headline.textContent()) ?? '';
  assert.ok(text.startsWith(`Since their last promotion, champions are ${(-impact.summary.pooled.relativeMaeChange * 100).toFixed(1)} % more accurate than the models they replaced`), text);
  assert.match(text, /500 labelled predictions\) across 1 tenant\(s\): 1 better, 0 worse/);
  assert.is(await page.locator('[data-impact="farm"] [data-testid="impact-tenant-change"]').textContent(), `${(farm.relativeMaeChange * 100).toFixed(1)} %`);
  assert.is(await page.locator('[data-impact="barn"]').count(), 0, 'barn has nothing to compare and is left out');
  // ROI: nothing valued until a MANAGER says what a unit of error is worth.
  assert.match((await page.getByTestId('roi-headline').textContent()) ?? '', /^ROI not measured yet/);
  assert.is(await page.locator('[data-impact="farm"] [data-testid="roi-tenant-benefit"]').textContent(), 'no economics set');
  await page.locator('#econ-tenant').selectOption('farm');
  await page.getByLabel('Value per unit of error (USD)').fill('twelve');
  await page.getByRole('button', { name: 'Set economics' }).click();
  await page.getByRole('alert').filter({ hasText: 'enter a number of dollars' }).waitFor();
  await page.getByLabel('Value per unit of error (USD)').fill('12.5');
  await page.getByLabel('Unit of error', { exact: true }).fill('t/ha of yield');
  await page.getByRole('button', { name: 'Set economics' }).click();
  await page.getByRole('alert').filter({ hasText: /justification/ }).waitFor(); // the API's refusal, in words
  assert.is((await ctx.manager('GET', '/api/v1/tenants/farm')).body.economics, null, 'a refused form writes nothing');
  await page.getByLabel('Justification', { exact: true }).fill('agronomists: a t/ha of error costs $12.50 per field decision');
  await page.getByRole('button', { name: 'Set economics' }).click();
  await page.getByRole('status').filter({ hasText: 'Economics of farm set: $12.50 per t/ha of yield' }).waitFor();
  const valued = (await ctx.manager('GET', '/api/v1/impact/accuracy')).body;
  const money = valued.tenants.find((t: { tenantId: string }) => t.tenantId === 'farm').money;
  assert.ok(money.benefitUsd > 0 && money.roi === null, JSON.stringify(money));
  await page.getByTestId('roi-headline').filter({ hasText: 'no retraining was paid for before those promotions' }).waitFor();
  // The retraining behind the promotion (a run in the window before it; setup only) gives the ROI.
  const promotedAt = new Date(farm.promotedAt).getTime();
  await ctx.node.database.db.insert(retrainRuns).values({ sagaId: '00000000-0000-4000-8000-0000000000f1', tenantId: 'farm' as TenantId, outcome: 'succeeded', seconds: 600, gpuHours: 2, costUsd: 40, startedAt: new Date(promotedAt - HOUR), finishedAt: new Date(promotedAt - HOUR / 2) });
  const paid = (await ctx.manager('GET', '/api/v1/impact/accuracy')).body.summary.money;
  assert.ok(Math.abs(paid.roi - (money.benefitUsd - 40) / 40) < 1e-9, JSON.stringify(paid));
  await page.getByRole('link', { name: 'Engineer' }).click();
  await page.getByRole('link', { name: 'Executive' }).click();
  const roiTile = page.getByTestId('roi');
  await page.getByTestId('roi-headline').filter({ hasText: 'cost $40.00 and returned' }).waitFor();
  const pct = (x: number) => `${x < 0 ? '−' : ''}${Math.abs(x * 100).toLocaleString('en', { maximumFractionDigits: 0 })} %`;
  assert.is(await roiTile.textContent(), pct(paid.roi));
  assert.is(await page.locator('[data-impact="farm"] [data-testid="roi-tenant"]').textContent(), pct(paid.roi));
  await shot(page, 'executive');
  await context.close();
});

test('the retrain progress bar follows a running saga to its end', async (ctx) => {
  const s1 = await newModel(ctx, 'silo', 's1', 'e');
  await placeChampion(ctx, 'silo', s1);
  const now = ctx.node.clock.now().getTime();
  // History to train on (setup only: the saga's snapshot reads stored events).
  await ctx.node.database.db.insert(learningEvents).values(
    Array.from({ length: 120 }, (_, i) => ({ tenantId: 'silo' as TenantId, idempotencyKey: `silo-${i}`, modelVersionId: s1 as ModelVersionId, features: { ndvi: i / 120 }, prediction: 3, actual: 3 + (i % 5) * 0.1, occurredAt: new Date(now - (120 - i) * HOUR) })),
  );
  const { context, page } = await signIn(ctx.browser, ctx.node.url, ctx.managerToken);
  await page.goto('/#/tenant/silo');
  await page.getByText('No retraining running.').waitFor({ timeout: 5_000 });
  await page.getByRole('button', { name: 'Retrain' }).click();
  await page.getByLabel('Reason').fill('new season');
  await page.getByRole('button', { name: 'Confirm retrain' }).click();
  const bar = page.locator('progress#saga-progress');
  await page.locator('label[for="saga-progress"]', { hasText: /: training/ }).waitFor({ timeout: 10_000 });
  // The actor publishes 40 % for the training step (with an ETA once a job has run before).
  assert.is(Number(await bar.getAttribute('value')), 40);
  const status = (await ctx.manager('GET', '/api/v1/tenants/silo/retrain')).body;
  assert.is(status.saga.step, 'training');
  assert.match((await page.locator('label[for="saga-progress"]').textContent()) ?? '', new RegExp(`^Saga ${status.saga.sagaId.slice(0, 8)}: training, 40 %`));
  await shot(page, 'retrain-progress');
  writeFileSync(join(ctx.dir, 'go'), '');
  await page.getByText('No retraining running.').waitFor({ timeout: 20_000 });
  const done = (await ctx.manager('GET', '/api/v1/tenants/silo/retrain')).body;
  assert.is(done.saga, null);
  assert.ok(['validated', 'failed', 'rejected'].includes(done.history[0].step), JSON.stringify(done.history[0]));
  await context.close();
});

test.run();
