import { and, eq, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeJson } from '../../control-plane/actor-host/protocol';
import { alerts, auditLog, modelVersions, shardLeases } from '../../db/schema';
import type { ModelVersionId } from '../../db/schema/enums';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

/**
 * The SLO monitors on several nodes (Postgres + NATS): one node judges for
 * the cluster (the holder of shard 0's lease), so a breach is counted,
 * audited and alerted once; when that node stops or dies another takes over.
 */
type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  env: Record<string, string>;
  nodes: Sys[];
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;

async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function metricValue(sys: Sys, line: RegExp): Promise<string | undefined> {
  const text = await (await sys.app.request('/metrics')).text();
  return text.split('\n').find((l) => line.test(l))?.split(' ').pop();
}

/** A breach counter summed over the nodes given (a node that never counted one exports no sample). */
async function breachesCounted(nodes: Sys[], slo: string): Promise<number> {
  let sum = 0;
  for (const n of nodes) sum += Number((await metricValue(n, new RegExp(`^tollgate_slo_breaches_total\\{slo="${slo}"\\}`))) ?? 0);
  return sum;
}

async function audited(sys: Sys, slo: string): Promise<number> {
  await sys.audit.flush();
  const rows = await sys.database.db.select({ payload: auditLog.payload }).from(auditLog).where(eq(auditLog.action, 'slo.breached'));
  return rows.filter((r) => (r.payload as { slo?: string }).slo === slo).length;
}

async function alertsOf(sys: Sys, kind: string) {
  return sys.database.db.select().from(alerts).where(eq(alerts.kind, kind));
}

/** Waits until the live nodes hold the 64 shards evenly (hand-overs make actor commands time out meanwhile). */
async function balanced(nodes: Sys[]): Promise<void> {
  const db = nodes[0]!.database.db;
  await until(async () => {
    const rows = await db.select({ owner: shardLeases.owner, n: sql<number>`count(*)::int` }).from(shardLeases).groupBy(shardLeases.owner);
    return rows.length === nodes.length && rows.every((r) => r.owner !== null && r.n === 64 / nodes.length);
  }, 'shards balanced across nodes', 30_000);
  await new Promise((r) => setTimeout(r, 500));
}

/** A version placed in CANARY two hours ago without a promotion (setup only): past its rollout window on any node's clock. */
async function staleCanary(sys: Sys, label: string): Promise<string> {
  const admin = client(sys.app, BOOTSTRAP_TOKEN);
  const model = await admin('POST', '/api/v1/tenants/farm/models', { label, owner: 'ana', featureSignature: `ndvi-${label}`, artifactSha256: 'c'.repeat(64) });
  assert.is(model.status, 201, model.text);
  const id = model.body.id as string;
  await sys.database.db.update(modelVersions).set({ state: 'CANARY', canaryTrafficPercent: 10, updatedAt: new Date(Date.now() - 2 * HOUR) }).where(eq(modelVersions.id, id as ModelVersionId));
  return id;
}

async function stateOf(sys: Sys, id: string): Promise<string> {
  const [m] = await sys.database.db.select({ state: modelVersions.state }).from(modelVersions).where(eq(modelVersions.id, id as ModelVersionId));
  return m!.state;
}

const test = suite<Ctx>('SLO monitors on two nodes (Postgres + NATS)', {} as Ctx);

test.before(async (ctx) => {
  const made = await realServicesEnv('slocluster');
  ctx.env = made.env;
  ctx.cleanup = made.cleanup;
  ctx.nodes = [];
  for (let i = 0; i < 2; i++) ctx.nodes.push(await startTestSystem({ ...made.env, TOLLGATE_NODE_ID: `slo-node-${i}` }));
  await balanced(ctx.nodes);
  assert.is((await client(ctx.nodes[0]!.app, BOOTSTRAP_TOKEN)('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm' })).status, 201);
});
test.after(async (ctx) => {
  for (const n of ctx.nodes) await n.dispose().catch(() => undefined);
  await ctx.cleanup?.();
});

test('a canary past its window is rolled back, alerted and audited once though every node sweeps', async (ctx) => {
  const id = await staleCanary(ctx.nodes[0]!, 'v-once');
  // Every node sweeps at the same moment, twice.
  for (let round = 0; round < 2; round++) await Promise.all(ctx.nodes.map((n) => n.slo.sweep()));
  await until(async () => (await stateOf(ctx.nodes[0]!, id)) === 'FAILED', 'the canary rolled back');
  await until(async () => (await audited(ctx.nodes[0]!, 'rollout_window')) > 0, 'audited');
  await new Promise((r) => setTimeout(r, 300)); // room for a second, wrong, breach to land
  assert.is(await audited(ctx.nodes[0]!, 'rollout_window'), 1, 'audited once');
  assert.is((await alertsOf(ctx.nodes[0]!, 'slo.rollout-window')).length, 1, 'alerted once');
  assert.is(await breachesCounted(ctx.nodes, 'rollout_window'), 1, 'counted once over the cluster');
});

test('exactly one node leads; /metrics says which; the others export no availability figure', async (ctx) => {
  const leaders = ctx.nodes.filter((n) => n.leadership.leads());
  assert.is(leaders.length, 1);
  for (const n of ctx.nodes) {
    const leads = n.leadership.leads();
    assert.is(await metricValue(n, /^tollgate_slo_monitor_leader /), leads ? '1' : '0');
    if (!leads) assert.match(String(await metricValue(n, /^tollgate_slo_availability_ratio /)), /^nan$/i, 'NaN (prom-client writes Nan)');
    // The objectives are the same constants everywhere.
    assert.is(await metricValue(n, /^tollgate_slo_objective_seconds\{slo="rollout_window"\}/), '3600');
  }
});

test("availability is judged once over the cluster's requests: the other node forwards its counts to the leader", async (ctx) => {
  const leader = ctx.nodes.find((n) => n.leadership.leads())!;
  const follower = ctx.nodes.find((n) => n !== leader)!;
  for (let i = 0; i < 150; i++) follower.slo.httpAnswered(i < 10 ? 503 : 200);
  for (let i = 0; i < 50; i++) leader.slo.httpAnswered(200);
  await follower.slo.sweep(); // forwards, judges nothing
  const alert = await until(async () => {
    await leader.slo.sweep();
    return (await alertsOf(leader, 'slo.availability'))[0];
  }, 'availability alert from the leader');
  // The follower's 150 arrive whole; the leader's own 50 (and the suite's /metrics scrapes) may have been judged in an earlier pass of the loop.
  const { total, failed } = alert.details as { total: number; failed: number };
  assert.is(failed, 10, alert.message);
  assert.ok(total >= 150 && total <= 220, alert.message);
  await follower.slo.sweep();
  await leader.slo.sweep();
  await until(async () => (await audited(leader, 'availability')) === 1, 'the breach audited');
  assert.is(await audited(leader, 'availability'), 1, 'audited once');
  assert.is(await breachesCounted(ctx.nodes, 'availability'), 1, 'counted once');
  const ratio = Number(await metricValue(leader, /^tollgate_slo_availability_ratio /));
  assert.ok(ratio > 0.9 && ratio < 0.96, `the leader exports the cluster's ratio, got ${ratio}`);
  assert.match(String(await metricValue(follower, /^tollgate_slo_availability_ratio /)), /^nan$/i);
});

test('a retrain over 24 h is a breach counted once (its event goes to one node)', async (ctx) => {
  const prefix = ctx.env.TOLLGATE_SUBJECT_PREFIX!;
  ctx.nodes[0]!.bus.publish(`${prefix}.evt.farm.retrain.failed`, encodeJson({ tenantId: 'farm', sagaId: 'saga-slow', outcome: 'TIMEOUT', durationSeconds: 30 * 3600 }));
  await until(async () => (await alertsOf(ctx.nodes[0]!, 'slo.retraining')).length === 1, 'retraining SLO alert');
  await new Promise((r) => setTimeout(r, 300));
  assert.is(await audited(ctx.nodes[0]!, 'retraining'), 1);
  assert.is(await breachesCounted(ctx.nodes, 'retraining'), 1);
});

test('when the leader stops, the other node takes over and judges the next breach, once', async (ctx) => {
  const leader = ctx.nodes.find((n) => n.leadership.leads())!;
  const survivor = ctx.nodes.find((n) => n !== leader)!;
  await leader.dispose(); // a graceful stop gives shard 0's lease back at once
  ctx.nodes = [survivor];
  await until(async () => survivor.leadership.leads(), 'the survivor leads', 15_000);
  await balanced([survivor]);
  const id = await staleCanary(survivor, 'v-after-stop');
  await survivor.slo.sweep();
  await until(async () => (await stateOf(survivor, id)) === 'FAILED', 'rolled back by the survivor');
  await survivor.slo.sweep();
  const breaches = (await alertsOf(survivor, 'slo.rollout-window')).filter((a) => (a.details as { modelVersionId?: string }).modelVersionId === id);
  assert.is(breaches.length, 1);
  await until(async () => (await audited(survivor, 'rollout_window')) === 2, 'the first canary and this one audited');
  await new Promise((r) => setTimeout(r, 300));
  assert.is(await audited(survivor, 'rollout_window'), 2, 'once each');
});

test('when the leader dies (its leases lapse), a newer node takes over; the dead one judges nothing', async (ctx) => {
  const old = ctx.nodes[0]!;
  const countedByOld = await breachesCounted([old], 'rollout_window');
  const fresh = await startTestSystem({ ...ctx.env, TOLLGATE_NODE_ID: 'slo-node-2' });
  ctx.nodes.push(fresh);
  await balanced(ctx.nodes);
  assert.ok(old.leadership.leads() && !fresh.leadership.leads(), 'a rebalance keeps shard 0 with the leader');
  old.leases!.halt(); // stops renewing, as a dead node would; its process keeps sweeping
  assert.not.ok(old.leadership.leads(), 'stops leading at once');
  await until(async () => fresh.leadership.leads(), 'the newer node leads once the lease lapsed', 30_000);
  await until(async () => (await fresh.database.db.select().from(shardLeases).where(and(eq(shardLeases.owner, 'slo-node-2')))).length === 64, 'the newer node holds every shard', 30_000);
  await new Promise((r) => setTimeout(r, 500));
  const id = await staleCanary(fresh, 'v-after-death');
  await Promise.all([old.slo.sweep(), fresh.slo.sweep()]);
  await until(async () => (await stateOf(fresh, id)) === 'FAILED', 'rolled back by the newer node');
  await Promise.all([old.slo.sweep(), fresh.slo.sweep()]);
  await until(async () => (await audited(fresh, 'rollout_window')) === 3, 'the breach audited');
  await new Promise((r) => setTimeout(r, 300));
  assert.is(await audited(fresh, 'rollout_window'), 3, 'one more breach, once');
  assert.is(await breachesCounted([fresh], 'rollout_window'), 1, 'counted by the new leader');
  assert.is(await breachesCounted([old], 'rollout_window'), countedByOld, 'not by the dead one');
});

const up = (await requirePostgres()) && (await requireNats());
if (up) test.run();
