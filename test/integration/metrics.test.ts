import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LockHeldError } from '../../actors/errors';
import { REDIS_URL, realServicesEnv, requireNats, requirePostgres, requireRedis } from '../support/services';
import { samplesByName, samplesWith } from '../support/prometheus';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  admin: ReturnType<typeof client>;
  families: Map<string, ParsedFamily>;
  /** Every sample with its labels, by sample name (histograms' _bucket/_sum/_count too). */
  samples: Map<string, ParsedSample[]>;
  dependencies: string[];
  cleanup(): Promise<void>;
}

const TENANTS = 500;

async function scrape(sys: Sys): Promise<{ families: Map<string, ParsedFamily>; samples: Map<string, ParsedSample[]> }> {
  const res = await sys.app.request('/metrics');
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const parsed = parsePrometheusTextFormat(text);
  assert.ok(parsed.length > 20, `${parsed.length} families parsed`);
  return { families: new Map(parsed.map((f) => [f.name, f])), samples: samplesByName(text) };
}

function count(ctx: Ctx, histogram: string, labels: Record<string, string>): number | undefined {
  const [m] = samplesWith(ctx.samples, `${histogram}_count`, labels);
  return m ? Number(m.value) : undefined;
}

function family(ctx: Ctx, name: string, type: ParsedFamily['type']): ParsedFamily {
  const f = ctx.families.get(name);
  assert.ok(f, `family ${name} is exported`);
  assert.is(f!.type, type, `${name} is a ${type}`);
  assert.ok(f!.help.length > 0, `${name} has help`);
  return f!;
}

function metricsSuite(name: string, makeEnv: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>, dependencies: string[]) {
  const test = suite<Ctx>(`metrics: ${name}`, {} as Ctx);

  test.before(async (ctx) => {
    const made = await makeEnv();
    ctx.cleanup = made.cleanup;
    ctx.dependencies = dependencies;
    ctx.sys = await startTestSystem(made.env);
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    // Real traffic: tenants, a model and a transition, reads per tenant, refusals, unknown paths.
    for (let i = 0; i < TENANTS; i++) {
      const res = await ctx.admin('POST', '/api/v1/tenants', { id: `farm-${i}`, name: `Farm ${i}` });
      assert.is(res.status, 201, res.text);
    }
    for (let i = 0; i < TENANTS; i++) assert.is((await ctx.admin('GET', `/api/v1/tenants/farm-${i}`)).status, 200);
    const model = await ctx.admin('POST', '/api/v1/tenants/farm-0/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi,temp' });
    assert.is(model.status, 201, model.text);
    const moved = await ctx.admin('POST', `/api/v1/models/${model.body.id}/transitions`, { to: 'TRAINING', reason: 'nightly', idempotencyKey: 'k1', expectedRevision: 0 });
    assert.is(moved.status, 200, moved.text);
    assert.is((await client(ctx.sys.app, 'wrong-token-wrong-token')('GET', '/api/v1/tenants/farm-1')).status, 401);
    for (let i = 0; i < 20; i++) assert.is((await ctx.admin('GET', `/no/such/path/${i}.js`)).status, 404);
    const lease = await ctx.sys.retrain.lock.acquire('lock:tenant:farm-0:retrain', 60_000);
    try {
      await ctx.sys.retrain.lock.acquire('lock:tenant:farm-0:retrain', 60_000);
      assert.unreachable('the lock was held');
    } catch (err) {
      assert.instance(err, LockHeldError);
    }
    await lease.release();
    Object.assign(ctx, await scrape(ctx.sys));
  });

  test.after(async (ctx) => {
    await ctx.sys?.dispose();
    await ctx.cleanup?.();
  });

  test('HTTP requests by matched route pattern and status, never the raw path', (ctx) => {
    const requests = family(ctx, 'tollgate_http_requests_total', 'COUNTER');
    const byRoute = (route: string, status: string) => requests.metrics.find((m) => m.labels?.route === route && m.labels?.status === status && m.labels?.method === 'GET');
    assert.is(byRoute('/api/v1/tenants/:tenantId', '200')?.value, String(TENANTS));
    assert.ok(requests.metrics.some((m) => m.labels?.status === '401' && m.labels?.route === '/api/v1/*'), 'a 401 from the auth middleware, under its pattern');
    assert.is(byRoute('unmatched', '404')?.value, '20', 'missing files (the console answers other paths)');
    const routes = new Set(requests.metrics.map((m) => m.labels?.route));
    for (const r of routes) assert.not.match(r ?? '', /farm-\d|\/no\/such/, `raw path in a label: ${r}`);
    assert.ok(requests.metrics.length < 30, `${requests.metrics.length} request series for ${TENANTS} tenants`);
    family(ctx, 'tollgate_http_request_duration_seconds', 'HISTOGRAM');
    assert.is(count(ctx, 'tollgate_http_request_duration_seconds', { method: 'GET', route: '/api/v1/tenants/:tenantId', status: '200' }), TENANTS);
    const buckets = ctx.samples.get('tollgate_http_request_duration_seconds_bucket')!.filter((m) => m.labels?.route === '/api/v1/tenants/:tenantId' && m.labels?.status === '200');
    assert.ok(buckets.length >= 5 && buckets.some((b) => b.labels?.le === '+Inf'));
  });

  test('actors: mailbox depth, processing time, residents, transitions by from/to', (ctx) => {
    family(ctx, 'tollgate_actor_mailbox_messages', 'GAUGE');
    family(ctx, 'tollgate_actor_mailbox_max_depth', 'GAUGE');
    family(ctx, 'tollgate_actor_message_duration_seconds', 'HISTOGRAM');
    const tenantMessages = count(ctx, 'tollgate_actor_message_duration_seconds', { kind: 'tenant' }) ?? 0;
    assert.ok(tenantMessages >= TENANTS, `tenant messages: ${tenantMessages}`);
    assert.ok(Number(family(ctx, 'tollgate_actors_resident', 'GAUGE').metrics[0]?.value) >= TENANTS);
    const transitions = family(ctx, 'tollgate_model_transitions_total', 'COUNTER');
    assert.equal(
      transitions.metrics.map((m) => [m.labels?.from, m.labels?.to, m.value]),
      [['DRAFT', 'TRAINING', '1']],
    );
  });

  test('drift, accuracy, canary, retrain, lock, oracle and alert families, with bounded labels', (ctx) => {
    for (const name of ['tollgate_drift_score', 'tollgate_model_accuracy']) {
      const f = family(ctx, name, 'GAUGE');
      assert.ok(f.metrics.length <= 20, `${name}: ${f.metrics.length} series`);
      family(ctx, `${name}_aggregate`, 'GAUGE');
      family(ctx, `${name}_tenants`, 'GAUGE');
    }
    family(ctx, 'tollgate_drift_detection_latency_seconds', 'HISTOGRAM');
    family(ctx, 'tollgate_drift_breaching_tenants', 'GAUGE');
    family(ctx, 'tollgate_canary_p_value', 'GAUGE');
    family(ctx, 'tollgate_training_duration_seconds', 'HISTOGRAM');
    family(ctx, 'tollgate_retrain_runs_total', 'COUNTER');
    family(ctx, 'tollgate_oracle_refusals_total', 'COUNTER');
    family(ctx, 'tollgate_alert_deliveries_total', 'COUNTER');
    family(ctx, 'tollgate_alert_escalations_total', 'COUNTER');
    family(ctx, 'tollgate_lock_acquire_duration_seconds', 'HISTOGRAM');
    assert.is(count(ctx, 'tollgate_lock_acquire_duration_seconds', { outcome: 'acquired' }), 1);
    assert.is(count(ctx, 'tollgate_lock_acquire_duration_seconds', { outcome: 'held' }), 1);
    for (const slo of ['tollgate_slo_breaches_total', 'tollgate_slo_objective_seconds']) assert.ok(ctx.families.has(slo), `${slo} exported`);
  });

  test('dependency health from the readiness checks', (ctx) => {
    const up = family(ctx, 'tollgate_dependency_up', 'GAUGE');
    assert.equal(up.metrics.map((m) => m.labels?.dependency).sort(), [...ctx.dependencies].sort());
    for (const m of up.metrics) assert.is(m.value, '1', `${m.labels?.dependency} up`);
  });

  test('every family follows the naming conventions: prefix, _total counters, base units', (ctx) => {
    for (const f of ctx.families.values()) {
      assert.ok(f.name.startsWith('tollgate_'), `${f.name} has the tollgate_ prefix`);
      if (f.type === 'COUNTER') assert.ok(f.name.endsWith('_total'), `counter ${f.name} ends in _total`);
      assert.not.match(f.name, /_(ms|milliseconds|minutes|hours|kb|mb)(_|$)/, `${f.name} uses base units`);
      for (const m of f.metrics) for (const k of Object.keys(m.labels ?? {})) assert.match(k, /^[a-z_][a-z0-9_]*$/, `${f.name} label ${k}`);
    }
  });

  return test;
}

const pg = await requirePostgres();
const nats = await requireNats();
const redis = await requireRedis();

metricsSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined }), ['embedded-database']).run();
if (pg && nats && redis) metricsSuite('Postgres + NATS + Redis', () => realServicesEnv('metrics', { REDIS_URLS: REDIS_URL, TOLLGATE_NODE_ID: 'metrics-node' }), ['postgres', 'nats', 'redis']).run();
