/** The demo story suite, shared by demo-story.test.ts (embedded) and demo-story-services.test.ts (Postgres + NATS). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { inArray, sql } from 'drizzle-orm';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../control-plane/cli/main';
import { inProcessCall } from '../../control-plane/demo/api';
import { ensureDemoCredentials, type DemoCredentials } from '../../control-plane/demo/credentials';
import { seedTenants } from '../../control-plane/demo/seed';
import { DemoSimulator } from '../../control-plane/demo/simulator';
import { DEMO_TENANTS } from '../../control-plane/demo/story';
import { learningEvents } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { client, startTestSystem } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ctx {
  sys: Sys;
  dataDir: string;
  credentials: DemoCredentials;
  sim: DemoSimulator;
  log: string[];
}

type Env = () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>;

/**
 * The story on one kind of node. `full`: every scripted event to the end
 * (the embedded defaults `npm start` runs); otherwise the first days (the
 * champion rollback and the canary rollback) on the real services.
 */
export function storySuite(name: string, makeEnv: Env, full: boolean) {
  const test = suite<Ctx & { cleanup(): Promise<void> }>(`demo story (${name}, simulated time)`, {} as Ctx & { cleanup(): Promise<void> });

  test.before(async (ctx) => {
    ctx.dataDir = mkdtempSync(join(tmpdir(), 'tg-demo-story-'));
    const made = await makeEnv();
    ctx.cleanup = made.cleanup;
    ctx.sys = await startTestSystem(made.env);
    const call = inProcessCall(ctx.sys.app);
    ctx.credentials = (await ensureDemoCredentials({ dataDir: ctx.dataDir, identity: ctx.sys.identity, call, now: () => ctx.sys.clock.now() })).credentials;
    const seeded = await seedTenants({ call, credentials: ctx.credentials, db: ctx.sys.database.db, audit: ctx.sys.audit, reloadRoutes: (id) => ctx.sys.routing.reload(id), dataDir: ctx.dataDir });
    assert.is(seeded.length, 3);
    ctx.log = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void ctx.log.push(line) });
    ctx.sim = new DemoSimulator({
      call,
      tokens: { manager: ctx.credentials.users.manager.token, admin: ctx.credentials.users.admin.token },
      now: () => ctx.sys.clock.now().getTime(),
      log,
      readArtifact: () => null,
    });
    await ctx.sim.attach();
    await ctx.sim.backfill();
    await settle(ctx);
  });

  test.after(async (ctx) => {
    await ctx.sys.dispose();
    await ctx.cleanup();
    rmSync(ctx.dataDir, { recursive: true, force: true });
  });

  /** The whole audit log, page by page. */
async function auditAll(admin: ReturnType<typeof client>): Promise<Array<{ seq: number; actor: string; action: string; subject: string; payload: Record<string, unknown> }>> {
  const all: Array<{ seq: number; actor: string; action: string; subject: string; payload: Record<string, unknown> }> = [];
  for (let after = 0; ; ) {
    const page = (await admin('GET', `/api/v1/audit?after=${after}&limit=1000`)).body.entries as typeof all;
    all.push(...page);
    if (page.length < 1000) return all;
    after = page[page.length - 1]!.seq;
  }
}

/** Waits until every accepted event is stored and the actors are idle. */
  async function settle(ctx: Ctx): Promise<void> {
    const ids = DEMO_TENANTS.map((t) => t.id as TenantId);
    for (let i = 0; i < 2_000; i++) {
      const [r] = await ctx.sys.database.db.select({ n: sql<number>`count(*)::int` }).from(learningEvents).where(inArray(learningEvents.tenantId, ids));
      if (r!.n >= ctx.sim.posted) break;
      await sleep(5);
    }
    await ctx.sys.host.idle();
  }

  test(full ? 'the whole script: drift → breach → retrain → shadow → canary → approval waits; a canary rolled back; a production rollback with a forensic lock' : 'the first days: a canary rolled back; a production rollback with a forensic lock; signed drift reports', async (ctx) => {
    const agronomist = client(ctx.sys.app, ctx.credentials.users.agronomist.token);
    const models = async (tenantId: string) => (await agronomist('GET', `/api/v1/tenants/${tenantId}/models`)).body.items as Array<{ id: string; label: string; state: string; parentId: string | null; canaryVerdict: string | null; canaryTrafficPercent: number | null }>;
    let awaiting: { id: string } | undefined;
    const t0 = Date.now();
    for (let step = 0; step < 1_200 && Date.now() - t0 < 420_000; step++) {
      // A retraining saga runs in real time (a worker thread): time stands still meanwhile, as the 24 h job timeout allows.
      const retrain = (await agronomist('GET', '/api/v1/tenants/alder-farms/retrain')).body;
      if (!retrain.saga) ctx.sys.clock.increment(30 * MINUTE);
      else await sleep(20);
      await ctx.sim.tick();
      await settle(ctx);
      if (step % 8 !== 0) continue;
      const alder = await models('alder-farms');
      const candidate = alder.find((m) => m.parentId && m.state === 'CANARY');
      if (candidate) {
        const p = (await agronomist('GET', `/api/v1/models/${candidate.id}/promotion`)).body.promotion;
        if (p.status === 'awaiting_approval') awaiting = candidate;
      }
      const birch = await models('birch-valley');
      const cedar = (await agronomist('GET', '/api/v1/tenants/cedar-ridge')).body;
      if ((awaiting || !full) && birch.some((m) => m.label === 'v2' && m.state === 'FAILED') && cedar.forensicLock) {
        if (process.env.DEMO_TEST_TIMING) console.error(`story done at step ${step}, ${Date.now() - t0} ms, simulated ${ctx.sys.clock.now().toISOString()}`);
        break;
      }
      if (process.env.DEMO_TEST_TIMING && step % 32 === 0) console.error(`step ${step}: ${Date.now() - t0} ms`);
    }
    // The simulator narrates what it observes every fourth tick; the loop may have stopped on a
    // state it has not observed yet (when depends on the time of day the story started at).
    await ctx.sim.observe(true);
    const beats = ctx.log.map((l) => JSON.parse(l) as { beat?: string; tenantId?: string; msg: string });
    const told = (tenantId: string, beat: string) => beats.some((b) => b.tenantId === tenantId && b.beat === beat);
    const story = beats.filter((b) => b.beat && b.beat !== 'drift.report').map((b) => b.msg).join('\n');

    const reports = (await agronomist('GET', '/api/v1/tenants/birch-valley/drift?limit=30')).body.items as Array<{ signature: string }>;
    assert.ok(reports.length >= 4, 'the history and the days the clock closed');
    if (full) {
      // alder-farms: drift → a sustained breach → retraining → shadow → canary → waiting for the manager.
      const alderDrift = (await agronomist('GET', '/api/v1/tenants/alder-farms/drift?limit=30')).body.items as Array<{ day: string; report: { level: string; breachStarted: boolean } }>;
      assert.ok(alderDrift.some((r) => r.report.breachStarted), `a sustained breach:\n${story}`);
      assert.ok(alderDrift.filter((r) => r.report.level === 'critical').length >= 3);
      for (const beat of ['drift.breach', 'retrain.validated', 'shadow.deployed', 'promotion.awaiting_approval']) assert.ok(told('alder-farms', beat), `alder-farms ${beat} told:\n${story}`);
      assert.ok(awaiting, `alder-farms' retrained version waits for approval:\n${story}`);
      // The manager's approval ends it: the retrained version becomes the champion.
      const manager = client(ctx.sys.app, ctx.credentials.users.manager.token);
      assert.is((await manager('POST', `/api/v1/models/${awaiting!.id}/approvals`, { decision: 'approve', justification: 'demo: MAE lower in the heat wave' })).status, 201);
      for (let i = 0; i < 200 && (await models('alder-farms')).find((m) => m.id === awaiting!.id)?.state !== 'CHAMPION'; i++) await sleep(25);
      assert.is((await models('alder-farms')).find((m) => m.id === awaiting!.id)?.state, 'CHAMPION');
    }

    // birch-valley: v2 fine in shadow, degraded as a canary → rolled back by the breaker.
    const v2 = (await models('birch-valley')).find((m) => m.label === 'v2')!;
    assert.is(v2.state, 'FAILED', story);
    assert.is(v2.canaryVerdict, 'FAILED');
    assert.is(v2.canaryTrafficPercent, 0);
    assert.ok(told('birch-valley', 'promotion.rolled_back'), story);

    // cedar-ridge: production rollback to v1, forensic lock.
    const cedar = await models('cedar-ridge');
    assert.is(cedar.find((m) => m.label === 'v1')!.state, 'CHAMPION');
    assert.is(cedar.find((m) => m.label === 'v2')!.state, 'ROLLED_BACK');
    assert.ok(told('cedar-ridge', 'production.rolled_back') && told('cedar-ridge', 'tenant.locked'), story);
    // Automatically: the committee-signed RMSE threshold, at a day's close (the ADMIN's hand-made rollback is only the fallback).
    assert.not.ok(told('cedar-ridge', 'production.rollback'), `no hand-made rollback was needed:\n${story}`);
    const entries = await auditAll(client(ctx.sys.app, ctx.credentials.users.admin.token));
    const rollback = entries.find((e) => e.action === 'tenant.rollback' && e.subject === 'tenant:cedar-ridge');
    assert.is(rollback?.actor, 'system:drift', JSON.stringify(rollback));
    assert.match(String(rollback?.payload.trigger), /^drift-report:/);
    assert.ok(entries.some((e) => e.action.startsWith('governance.') && JSON.stringify(e.payload).includes('tenant.rollback-thresholds.change')), 'the committee unlock of the thresholds is audited');

    // Alerts by severity, and a chain that verifies.
    const alerts = (await agronomist('GET', '/api/v1/alerts?limit=100')).body.items as Array<{ tenantId: string; severity: string; kind: string }>;
    assert.ok(alerts.some((a) => a.tenantId === 'cedar-ridge' && a.severity === 'P1'), JSON.stringify(alerts));
    assert.ok(alerts.some((a) => a.tenantId === 'birch-valley' && a.kind === 'canary.failed' && a.severity === 'P2'), JSON.stringify(alerts));
    if (full) assert.ok(alerts.some((a) => a.tenantId === 'alder-farms' && a.severity === 'P2'), JSON.stringify(alerts));
    assert.is((await client(ctx.sys.app, ctx.credentials.users.admin.token)('GET', '/api/v1/audit/verify')).body.ok, true);
  });

  if (full) test('tollgate demo plays the data plane over HTTP on the node\'s clock; a wrong token or a node without the tenants exits 2', async (ctx) => {
    const server = serve({ fetch: ctx.sys.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The node's clock moves in real time here (a ManualClock, pushed along).
    const ticking = setInterval(() => ctx.sys.clock.increment(100), 100);
    try {
      const run = async (...args: string[]) => {
        let stdout = '';
        let stderr = '';
        const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
        return { code, stdout, stderr };
      };
      const before = ctx.sim.posted;
      const ok = await run('demo', '--url', url, '--token', ctx.credentials.users.admin.token, '--seconds', '3', '--rate', '3600');
      assert.is(ok.code, 0, ok.stderr);
      const posted = Number(/after posting (\d+) learning events/.exec(ok.stderr)?.[1]);
      assert.ok(posted > 0, ok.stderr);
      assert.match(ok.stdout, /"beat":"demo\.resume"/);
      assert.is(ctx.sim.posted, before, 'the events came from the CLI');
      const bad = await run('demo', '--url', url, '--token', 'tg_not-a-token', '--seconds', '1');
      assert.is(bad.code, 2);
      assert.match(bad.stderr, /refused the token/);
      const noToken = await run('demo', '--url', url);
      assert.is(noToken.code, 2);
      assert.match(noToken.stderr, /missing --token/);
      const unreachable = await run('demo', '--url', 'http://127.0.0.1:9', '--token', 'x', '--seconds', '1');
      assert.is(unreachable.code, 2);
      assert.match(unreachable.stderr, /cannot reach/);
    } finally {
      clearInterval(ticking);
      await new Promise((r) => server.close(r));
    }
  });

  if (full) test('tollgate demo against a node without the demo tenants says how to get them', async () => {
    const other = await startTestSystem();
    const server = serve({ fetch: other.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
    try {
      let stderr = '';
      const code = await main(['demo', '--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--token', 'test-bootstrap-token-0123456789', '--seconds', '1'], { stdout: () => undefined, stderr: (t) => (stderr += t) });
      assert.is(code, 2);
      assert.match(stderr, /demo tenant alder-farms does not exist on this node: start it with the demo on/);
    } finally {
      await new Promise((r) => server.close(r));
      await other.dispose();
    }
  });

  return test;
}

