import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alerts, deadLetters } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem, type Call } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
type Client = ReturnType<typeof client>;
interface Ctx {
  sys: Sys;
  admin: Client;
  manager: Client;
  agronomist: Client;
  model: string;
  alertIds: string[];
  cleanup(): Promise<void>;
}

function expectError(res: Call, status: number, code: string, message?: RegExp) {
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  if (message) assert.match(res.body.error.message, message);
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > 10_000) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function criteriaSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`autonomy criteria and alerts: ${name}`, {} as Ctx);
  const criterion = async (ctx: Ctx, id: string) => {
    const res = await ctx.agronomist('GET', '/api/v1/tenants/farm/autonomy');
    assert.is(res.status, 200, res.text);
    return res.body.criteria.find((c: { id: string }) => c.id === id);
  };

  test.before(async (ctx) => {
    const made = await env();
    ctx.sys = await startTestSystem(made.env);
    ctx.cleanup = made.cleanup;
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    ctx.manager = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'maria', role: 'MANAGER' })).body.token);
    ctx.agronomist = client(ctx.sys.app, (await ctx.admin('POST', '/api/v1/users', { name: 'joe', role: 'AGRONOMIST' })).body.token);
    assert.is((await ctx.admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm', stage: 'PILOT' })).status, 201);
    ctx.model = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi' })).body.id;
    ctx.alertIds = [randomUUID(), randomUUID()];
  });
  test.after(async (ctx) => {
    await ctx.sys.dispose();
    await ctx.cleanup();
  });

  test('a fresh PILOT tenant meets nothing yet and says why', async (ctx) => {
    const res = await ctx.agronomist('GET', '/api/v1/tenants/farm/autonomy');
    assert.is(res.body.stage, 'PILOT');
    assert.is(res.body.next, 'CONTROLLED_AUTONOMY');
    assert.is(res.body.ready, false);
    assert.equal(res.body.criteria.map((c: { id: string }) => c.id), ['coverage', 'drift-false-positives', 'no-crashes', 'pilot-decisions', 'decisions-signed']);
    const cov = await criterion(ctx, 'coverage');
    assert.equal([cov.value, cov.met, cov.detail], [0, false, '0 of 1 active tenants']);
    assert.equal((await criterion(ctx, 'drift-false-positives')).detail, 'no drift alert yet');
    assert.is((await criterion(ctx, 'decisions-signed')).met, true);
    expectError(await ctx.agronomist('GET', '/api/v1/tenants/nope/autonomy'), 404, 'NOT_FOUND');
  });

  test('coverage: learning events in the last 7 days', async (ctx) => {
    const ts = ctx.sys.clock.now().toISOString();
    assert.is((await ctx.manager('POST', '/api/v1/tenants/farm/events', { events: [{ idempotencyKey: 'c1', modelVersionId: ctx.model, ts, features: { ndvi: 0.4 }, prediction: 1 }] })).status, 200);
    await until(async () => (await criterion(ctx, 'coverage')).met, 'coverage met');
    ctx.sys.clock.increment(8 * 86_400_000);
    assert.is((await criterion(ctx, 'coverage')).met, false, 'a week later without events');
  });

  test('alerts: listed, acknowledged once with a label (MANAGER, audited); bad input refused', async (ctx) => {
    const db = ctx.sys.database.db;
    for (const [i, id] of ctx.alertIds.entries()) {
      await db.insert(alerts).values({ id, tenantId: 'farm' as TenantId, severity: 'P2', kind: 'drift.critical', dedupeKey: `t:${id}`, message: `drift ${i}`, details: {} });
    }
    assert.equal((await criterion(ctx, 'drift-false-positives')).value, null, 'alerts, none labelled: unknown');
    const list = await ctx.agronomist('GET', '/api/v1/alerts?tenantId=farm&open=true');
    assert.is(list.status, 200);
    assert.is(list.body.items.length, 2);
    expectError(await ctx.agronomist('POST', `/api/v1/alerts/${ctx.alertIds[0]}/ack`, { label: 'true_positive' }), 403, 'FORBIDDEN');
    expectError(await ctx.manager('POST', `/api/v1/alerts/${ctx.alertIds[0]}/ack`, { label: 'maybe' }), 400, 'BAD_REQUEST', /label/);
    expectError(await ctx.manager('POST', `/api/v1/alerts/${ctx.alertIds[0]}/ack`, { label: 'true_positive', x: 1 }), 400, 'BAD_REQUEST', /x/);
    expectError(await ctx.manager('POST', `/api/v1/alerts/${randomUUID()}/ack`, {}), 404, 'NOT_FOUND');
    expectError(await ctx.manager('POST', '/api/v1/alerts/not-a-uuid/ack', {}), 404, 'NOT_FOUND');
    expectError(await ctx.agronomist('GET', '/api/v1/alerts?open=maybe'), 400, 'BAD_REQUEST', /open/);
    const ack = await ctx.manager('POST', `/api/v1/alerts/${ctx.alertIds[0]}/ack`, { label: 'true_positive', note: 'NDVI sensor swap' });
    assert.is(ack.status, 200, ack.text);
    assert.is(ack.body.ackedBy, 'user:maria');
    expectError(await ctx.manager('POST', `/api/v1/alerts/${ctx.alertIds[0]}/ack`, { label: 'false_positive' }), 409, 'ALREADY_EXISTS', /already acknowledged/);
    assert.is((await ctx.agronomist('GET', `/api/v1/alerts/${ctx.alertIds[0]}`)).status, 404);
    assert.is((await criterion(ctx, 'drift-false-positives')).value, 0);
    assert.is((await criterion(ctx, 'drift-false-positives')).met, true);
    await ctx.manager('POST', `/api/v1/alerts/${ctx.alertIds[1]}/ack`, { label: 'false_positive' });
    const fp = await criterion(ctx, 'drift-false-positives');
    assert.equal([fp.value, fp.met], [0.5, false]);
    assert.is((await ctx.agronomist('GET', '/api/v1/alerts?tenantId=farm&open=true')).body.items.length, 0);
    const audit = (await ctx.admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string }>;
    assert.is(audit.filter((e) => e.action === 'alert.acknowledged').length, 2);
  });

  test('crashes: a dead letter of the tenant within 14 days fails the criterion', async (ctx) => {
    assert.is((await criterion(ctx, 'no-crashes')).met, true);
    await ctx.sys.database.db.insert(deadLetters).values({ kind: 'model', actorId: ctx.model, message: {}, error: 'boom', attempts: 3, at: ctx.sys.clock.now() });
    const c = await criterion(ctx, 'no-crashes');
    assert.equal([c.value, c.met], [1, false]);
  });

  test('PILOT decisions: 5 approvals and a correct rejection', async (ctx) => {
    for (let i = 0; i < 5; i++) await ctx.manager('POST', `/api/v1/models/${ctx.model}/approvals`, { decision: 'approve', justification: `ok ${i}` });
    assert.is((await criterion(ctx, 'pilot-decisions')).met, false, 'no rejection yet');
    const bad = (await ctx.manager('POST', '/api/v1/tenants/farm/models', { label: 'v-bad', owner: 'ana', featureSignature: 'ndvi' })).body.id;
    await ctx.manager('POST', `/api/v1/models/${bad}/approvals`, { decision: 'reject', justification: 'worse on the holdout' });
    const c = await criterion(ctx, 'pilot-decisions');
    assert.equal([c.value, c.met, c.detail], [5, true, '5 approvals, 1 correct rejections']);
  });

  return test;
}

criteriaSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined })).run();

if ((await requirePostgres()) && (await requireNats())) {
  criteriaSuite('Postgres + NATS', () => realServicesEnv('autonomy', { TOLLGATE_NODE_ID: 'autonomy-node' })).run();
}
