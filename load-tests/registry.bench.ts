/**
 * Registry transition benchmark (issue #2): `npm run bench:registry`.
 *
 * Informational only: it never exits non-zero because of a time. It exits 1
 * only when it cannot run (setup failed); outside CI it skips, loudly, when
 * Postgres is unreachable. Bounded: BENCH_SECONDS (default 8, max 60) per
 * measured phase, a request cap per phase, and a hard stop after 10 minutes.
 * Loopback only. Other knobs: BENCH_WARMUP (default 200), BENCH_CLIENTS,
 * BENCH_SERVER_NODE_ARGS (extra node flags for the server, e.g. --cpu-prof).
 *
 * What it measures, at 1 and 20 concurrent clients (BENCH_CLIENTS="1,20"):
 *   API  — the real server, started as a child process, each client owning
 *          one model version and cycling it VALIDATED ⇄ QUARANTINED through
 *          POST /api/v1/models/:id/transitions (node:http, keep-alive Agent).
 *   raw  — postgres.js in this process doing the same database work per
 *          transition with nothing else: one transaction with a
 *          compare-and-set UPDATE of model_versions plus one INSERT into
 *          bench_audit (audit_log's columns, bigserial seq, no chain lock).
 * After each API phase it also splits the mean latency at the server's own
 * histograms (scraped from /metrics before and after the phase): the handler
 * chain, the model actor within it, and what is left for HTTP, sockets and
 * the load generator.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { ADMIN_DATABASE_URL, createTestDatabase } from '../test/support/services';
import { JsonClient } from './support/http';
import { freePort, startServer, type ServerProcess } from './support/server';
import { busyShare, fmt, machineCpu, markdownTable, summarize, type PhaseResult, type Summary } from './support/stats';
import { meanMsBetween, scrapeMetrics, type Scrape } from './support/server-timing';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max} (got ${raw})`);
  return n;
}

const SECONDS = envInt('BENCH_SECONDS', 8, 1, 60);
const WARMUP = envInt('BENCH_WARMUP', 200, 0, 10_000);
const MAX_REQUESTS_PER_PHASE = 500_000;
const HARD_STOP_MS = 10 * 60_000;
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,20').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`BENCH_CLIENTS must list integers in 1..50 (got ${s})`);
  return n;
});
const MAX_CLIENTS = Math.max(...CLIENTS);
// Extra node flags for the server child, for profiling: BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const TENANT = 'bench';
const TARGET_THROUGHPUT_RATIO = 0.5;
const TARGET_P99_RATIO = 3;
const MAX_PRINTED_ERRORS = 20;

type State = 'VALIDATED' | 'QUARANTINED';
interface Slot {
  id: string;
  state: State;
  revision: number;
  /** Requests sent for this model so far (makes idempotency keys unique across phases). */
  sent: number;
}
/** One request of one client: resolves true on success, false on an (already recorded) error. */
type Step = () => Promise<boolean>;

let aborted = false;
let printedErrors = 0;
let totalErrors = 0;

function recordError(where: string, message: string): void {
  totalErrors++;
  if (printedErrors < MAX_PRINTED_ERRORS) {
    printedErrors++;
    console.error(`  ERROR [${where}] ${message}`);
  } else if (printedErrors === MAX_PRINTED_ERRORS) {
    printedErrors++;
    console.error('  (further errors are counted, not printed)');
  }
}

const flip = (s: State): State => (s === 'VALIDATED' ? 'QUARANTINED' : 'VALIDATED');

function assertLoopbackUrl(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) throw new Error(`refusing non-loopback database ${host}`);
}

/**
 * Warm-up (untimed, WARMUP requests spread over the clients), then every
 * client loops until the window closes; each request is timed on its own.
 */
async function runPhase(steps: Step[], durationMs: number, serverCpuMs: () => number | null): Promise<PhaseResult> {
  const perClientWarmup = Math.ceil(WARMUP / steps.length);
  await Promise.all(
    steps.map(async (step) => {
      for (let i = 0; i < perClientWarmup && !aborted; i++) await step();
    }),
  );
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let issued = 0;
  const server0 = serverCpuMs();
  const bench0 = process.cpuUsage();
  const machine0 = machineCpu();
  const start = performance.now();
  const end = start + durationMs;
  let last = start;
  await Promise.all(
    steps.map(async (step) => {
      while (!aborted && issued < MAX_REQUESTS_PER_PHASE) {
        const t0 = performance.now();
        if (t0 >= end) break;
        issued++;
        const good = await step();
        const t1 = performance.now();
        if (good) {
          ok++;
          latencies.push(t1 - t0);
        } else errors++;
        if (t1 > last) last = t1;
      }
    }),
  );
  const benchUsage = process.cpuUsage(bench0);
  const server1 = serverCpuMs();
  const machineBusy = busyShare(machine0, machineCpu());
  return {
    ok,
    errors,
    elapsedMs: last - start,
    latencies,
    cpu: { serverMs: server0 === null || server1 === null ? null : server1 - server0, benchMs: (benchUsage.user + benchUsage.system) / 1000 },
    machineBusy,
  };
}

/** One client of the API: transitions its own model, tracking the revision. */
function apiStep(client: JsonClient, slot: Slot, runId: string, label: string): Step {
  return async () => {
    const to = flip(slot.state);
    const body = { to, reason: 'bench cycle', idempotencyKey: `${runId}-${slot.id}-${slot.sent++}`, expectedRevision: slot.revision };
    try {
      const res = await client.request('POST', `/api/v1/models/${slot.id}/transitions`, body);
      if (res.status === 200) {
        const dto = res.body as { state: State; revision: number };
        slot.state = dto.state;
        slot.revision = dto.revision;
        return true;
      }
      recordError(label, `HTTP ${res.status} ${res.text.slice(0, 300)}`);
    } catch (err) {
      recordError(label, (err as Error).message);
    }
    await resyncApi(client, slot);
    return false;
  };
}

async function resyncApi(client: JsonClient, slot: Slot): Promise<void> {
  try {
    const res = await client.request('GET', `/api/v1/models/${slot.id}`);
    if (res.status === 200) {
      const dto = res.body as { state: State; revision: number };
      slot.state = dto.state;
      slot.revision = dto.revision;
    }
  } catch {
    // the next attempt will say what is wrong
  }
}

/** The phase's mean latency split at the server's own histograms (what its handler chain and the model actor took). */
function insideTheServer(phase: PhaseResult, before: Scrape, after: Scrape): string {
  const handler = meanMsBetween(before, after, 'tollgate_http_request_duration_seconds', { method: 'POST', route: '/api/v1/models/:id/transitions', status: '200' });
  const actor = meanMsBetween(before, after, 'tollgate_actor_message_duration_seconds', { kind: 'model' });
  const client = phase.latencies.length ? phase.latencies.reduce((a, b) => a + b, 0) / phase.latencies.length : Number.NaN;
  if (handler === null || actor === null) return '    (no samples in the server metrics for this phase)';
  return (
    `    means: client-observed ${fmt.ms(client)} ms = server handler chain ${fmt.ms(handler)} ms ` +
    `(model actor ${fmt.ms(actor)} ms, the compare-and-set included) + HTTP, sockets and load generator ${fmt.ms(client - handler)} ms`
  );
}

/** One client of the raw baseline: the same DB work, no application around it. */
function rawStep(sql: postgres.Sql, slot: Slot, label: string): Step {
  return async () => {
    const to = flip(slot.state);
    const from = slot.state;
    try {
      const row = await sql.begin(async (tx) => {
        const [updated] = await tx<Array<{ state: State; revision: number }>>`
          update model_versions set state = ${to}, revision = revision + 1, updated_at = now()
          where id = ${slot.id} and revision = ${slot.revision} returning *`;
        if (!updated) throw new Error(`compare-and-set missed on ${slot.id} at revision ${slot.revision}`);
        const payload = { tenantId: TENANT, from, to, reason: 'bench cycle', revision: updated.revision, idempotencyKey: randomUUID() };
        await tx`
          insert into bench_audit (at, actor, action, subject, payload, payload_digest, prev_hash, hash, kid, signature)
          values (${new Date().toISOString()}, ${'user:bootstrap'}, ${'model.transitioned'}, ${`model:${slot.id}`},
                  ${JSON.stringify(payload)}::jsonb, ${randomBytes(32).toString('hex')}, ${randomBytes(32).toString('hex')},
                  ${randomBytes(32).toString('hex')}, ${'bench-kid'}, ${randomBytes(64).toString('base64url')})`;
        return updated;
      });
      slot.state = row.state;
      slot.revision = row.revision;
      return true;
    } catch (err) {
      recordError(label, (err as Error).message);
      const [cur] = await sql<Array<{ state: State; revision: number }>>`select state, revision from model_versions where id = ${slot.id}`.catch(() => []);
      if (cur) {
        slot.state = cur.state;
        slot.revision = cur.revision;
      }
      return false;
    }
  };
}

async function mustOk(client: JsonClient, method: 'GET' | 'POST', path: string, body: unknown, want: number): Promise<Record<string, unknown>> {
  const res = await client.request(method, path, body);
  if (res.status !== want) throw new Error(`${method} ${path}: HTTP ${res.status} ${res.text.slice(0, 500)}`);
  return res.body as Record<string, unknown>;
}

/** Tenant, one model per API client, each moved DRAFT → TRAINING → VALIDATED. */
async function setupApi(client: JsonClient, count: number, runId: string): Promise<Slot[]> {
  await mustOk(client, 'POST', '/api/v1/tenants', { id: TENANT, name: 'Benchmark tenant' }, 201);
  const slots: Slot[] = [];
  for (let i = 0; i < count; i++) {
    const m = await mustOk(
      client,
      'POST',
      `/api/v1/tenants/${TENANT}/models`,
      { label: `api-${i}`, owner: 'bench', featureSignature: 'bench-features:v1', artifactSha256: randomBytes(32).toString('hex') },
      201,
    );
    const slot: Slot = { id: String(m.id), state: 'VALIDATED', revision: Number(m.revision), sent: 0 };
    for (const to of ['TRAINING', 'VALIDATED'] as const) {
      const dto = await mustOk(client, 'POST', `/api/v1/models/${slot.id}/transitions`, { to, reason: 'bench setup', idempotencyKey: `${runId}-setup-${slot.id}-${to}`, expectedRevision: slot.revision }, 200);
      slot.revision = Number(dto.revision);
    }
    slots.push(slot);
  }
  return slots;
}

/** bench_audit and the baseline's own model rows, inserted directly. */
async function setupRaw(sql: postgres.Sql, count: number): Promise<Slot[]> {
  await sql`
    create table bench_audit (
      seq bigserial primary key,
      at text not null,
      actor text not null,
      action text not null,
      subject text not null,
      payload jsonb not null,
      payload_digest text not null,
      prev_hash text not null,
      hash text not null unique,
      kid text not null,
      signature text not null,
      check (hash ~ '^[0-9a-f]{64}$' and prev_hash ~ '^[0-9a-f]{64}$')
    )`;
  const slots: Slot[] = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    await sql`
      insert into model_versions (id, tenant_id, label, owner, feature_signature, artifact_sha256, state, revision)
      values (${id}, ${TENANT}, ${`raw-${i}`}, ${'bench'}, ${'bench-features:v1'}, ${randomBytes(32).toString('hex')}, ${'VALIDATED'}, 0)`;
    slots.push({ id, state: 'VALIDATED', revision: 0, sent: 0 });
  }
  return slots;
}

function describeMachine(pgVersion: string): string[] {
  const cpus = os.cpus();
  return [
    `CPU: ${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length}`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `Node: ${process.version}`,
    `Postgres: ${pgVersion}`,
    `Load average at start (1/5/15 min): ${loadAverage()}`,
  ];
}

function progress(label: string, s: Summary): string {
  return (
    `  ${label}: ${fmt.rate(s.throughput)} tx/s, p50 ${fmt.ms(s.p50)} ms, p99 ${fmt.ms(s.p99)} ms (${s.ok} ok, ${s.errors} errors); ` +
    `CPU per tx: server ${fmt.ms(s.serverCpuPerTx)} ms, bench process ${fmt.ms(s.benchCpuPerTx)} ms; ` +
    `machine CPU busy ${Number.isFinite(s.machineBusy) ? `${(s.machineBusy * 100).toFixed(0)}%` : 'n/a'}`
  );
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function verdict(ok: boolean): string {
  return ok ? 'meets target' : 'misses target';
}

async function main(): Promise<number> {
  const hardStop = setTimeout(() => {
    console.error(`bench: hard stop after ${HARD_STOP_MS / 60_000} minutes`);
    aborted = true;
  }, HARD_STOP_MS);
  hardStop.unref();
  process.once('SIGINT', () => {
    console.error('bench: interrupted; cleaning up');
    aborted = true;
  });

  assertLoopbackUrl(ADMIN_DATABASE_URL);
  const created = await createTestDatabase('bench');
  if (!created) {
    console.warn('bench:registry skipped (PostgreSQL unreachable).');
    return 0;
  }
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tollgate-bench-'));
  let server: ServerProcess | null = null;
  let sql: postgres.Sql | null = null;
  let client: JsonClient | null = null;
  const runId = randomBytes(4).toString('hex');
  try {
    const token = `bench_${randomBytes(24).toString('base64url')}`;
    const port = await freePort();
    const t0 = performance.now();
    server = await startServer({
      cwd: ROOT,
      port,
      nodeArgs: SERVER_NODE_ARGS,
      env: {
        DATABASE_URL: created.url,
        TOLLGATE_DATA_DIR: dataDir,
        TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: token,
        LOG_LEVEL: 'warn',
        TOLLGATE_DEMO: '0',
        // Nothing but Postgres: no NATS/Redis inherited from the environment.
        NATS_URL: '',
        REDIS_URLS: '',
        TOLLGATE_KEY_DIR: '',
      },
    });
    console.log(`server ready in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${server.baseUrl} (pid ${server.pid})`);

    client = new JsonClient(server.baseUrl, token, MAX_CLIENTS);
    const apiSlots = await setupApi(client, MAX_CLIENTS, runId);
    sql = postgres(created.url, { max: 20, onnotice: () => undefined });
    const rawSlots = await setupRaw(sql, MAX_CLIENTS);
    const [{ version: pgVersion } = { version: 'unknown' }] = await sql<Array<{ version: string }>>`select version()`;

    const machine = describeMachine(pgVersion);
    console.log(`\nregistry transition benchmark — ${new Date().toISOString()}`);
    for (const line of machine) console.log(`  ${line}`);
    console.log(`  ${SECONDS} s per phase after ${WARMUP} warm-up requests; clients: ${CLIENTS.join(', ')}; HTTP client: node:http keep-alive Agent\n`);

    const results: Array<{ clients: number; api: Summary; raw: Summary }> = [];
    for (const n of CLIENTS) {
      if (aborted) break;
      const apiSteps = apiSlots.slice(0, n).map((slot) => apiStep(client!, slot, runId, `api×${n}`));
      const before = await scrapeMetrics(server.baseUrl);
      const apiPhase = await runPhase(apiSteps, SECONDS * 1000, () => server!.cpuMs());
      const api = summarize(apiPhase);
      console.log(progress(`api ×${n}`, api));
      console.log(insideTheServer(apiPhase, before, await scrapeMetrics(server.baseUrl)));
      if (aborted) break;
      const rawSteps = rawSlots.slice(0, n).map((slot) => rawStep(sql!, slot, `raw×${n}`));
      const raw = summarize(await runPhase(rawSteps, SECONDS * 1000, () => server!.cpuMs()));
      console.log(progress(`raw ×${n}`, raw));
      results.push({ clients: n, api, raw });
    }

    const header = ['clients', 'API tx/s', 'API p50 ms', 'API p99 ms', 'raw tx/s', 'raw p50 ms', 'raw p99 ms', 'tx/s API/raw (≥ 0.5)', 'p99 API/raw (≤ 3)', 'errors API/raw'];
    const rows = results.map(({ clients, api, raw }) => {
      const tput = api.throughput / raw.throughput;
      const p99 = api.p99 / raw.p99;
      return [
        String(clients),
        fmt.rate(api.throughput),
        fmt.ms(api.p50),
        fmt.ms(api.p99),
        fmt.rate(raw.throughput),
        fmt.ms(raw.p50),
        fmt.ms(raw.p99),
        `${fmt.ratio(tput)} ${verdict(tput >= TARGET_THROUGHPUT_RATIO)}`,
        `${fmt.ratio(p99)} ${verdict(p99 <= TARGET_P99_RATIO)}`,
        `${api.errors}/${raw.errors}`,
      ];
    });
    console.log(`\n${markdownTable(header, rows)}\n`);
    console.log(`Load average at end (1/5/15 min): ${loadAverage()}`);
    if (totalErrors > 0) console.error(`WARNING: ${totalErrors} request(s) failed; there should be none (see the errors above).`);

    const serverComplaints = server
      .output()
      .split('\n')
      .filter((l) => /"level":(4|5|6)\d/.test(l));
    if (serverComplaints.length > 0) {
      console.error(`server logged ${serverComplaints.length} warning/error line(s); first ones:`);
      for (const l of serverComplaints.slice(0, 5)) console.error(`  ${l.slice(0, 400)}`);
    }
    if (aborted) console.log('(stopped early: the table holds only the phases that finished)');
    console.log('Informational only: timings never fail this run.');
    return 0;
  } finally {
    client?.close();
    await server?.stop().catch((err: unknown) => console.error(`bench: stopping the server failed: ${String(err)}`));
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    await created.drop().catch((err: unknown) => console.error(`bench: dropping the database failed: ${String(err)}`));
    rmSync(dataDir, { recursive: true, force: true });
    clearTimeout(hardStop);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:registry could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
