/**
 * Actor host benchmark (issue #3): `npm run bench:actors`.
 *
 * Informational only: it never exits non-zero because of a time. It exits 1
 * only when it cannot run (setup failed); outside CI it skips, loudly, when
 * Postgres is unreachable, and skips the NATS phases when NATS is. Loopback
 * only. Bounded: a request cap and a time cap per phase, a hard stop after 8
 * minutes (phases end early) and, should something hang, a watchdog a minute
 * later that drops the database and exits 0 saying the run is incomplete.
 * It re-runs itself under `node --expose-gc` (heap figures need global.gc).
 *
 * Everything runs in this one process (host, client and load generator share
 * one event loop, as a single-node deployment would), on a fresh Postgres
 * database (dropped at the end), an in-memory PGlite and a random NATS
 * subject prefix:
 *
 *   1. request/reply latency, sequential, one actor: `get` (no state change,
 *      so no save) and `seq` (one save per message) over NATS + Postgres and
 *      over the in-process bus + PGlite; baselines: a raw nats.js echo
 *      (subscribe + respond / request) and a raw postgres.js compare-and-set
 *      UPDATE of one actor_state row. Variants run interleaved, in rounds.
 *   2. messages/second to BENCH_ACTORS existing actors (persisted at version
 *      1 and preloaded, untimed), round robin, BENCH_CONCURRENCY in flight:
 *      `get` and `seq` on both buses; baselines: raw echo on each bus and raw
 *      postgres.js CAS UPDATEs of as many actor_state rows at the same
 *      concurrency and pool size (one statement per row at a time).
 *   3. heap per idle actor: BENCH_IDLE_ACTORS real tenant actors preloaded.
 *   4. rehydration: BENCH_REHYDRATE_ACTORS persisted `seq` states loaded by a
 *      fresh host's preload, on Postgres and PGlite; baseline: one plain
 *      SELECT of the same rows.
 *
 * Knobs: BENCH_LATENCY_REQUESTS (3000), BENCH_WARMUP (300), BENCH_MESSAGES
 * (50000), BENCH_ACTORS (10000), BENCH_CONCURRENCY (256), BENCH_PHASE_SECONDS
 * (15, cap per throughput phase), BENCH_IDLE_ACTORS (100000),
 * BENCH_REHYDRATE_ACTORS (10000), BENCH_SECTIONS ("1,2,3,4"), BENCH_NODE_ARGS
 * (extra node flags for the re-spawned process, e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof"), TEST_NATS_URL, TEST_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql as dsql } from 'drizzle-orm';
import { connect, type NatsConnection, type Subscription as NatsSubscription } from 'nats';
import pino from 'pino';
import postgres from 'postgres';
import type { Behaviour } from '../actors/actor';
import { tenantBehaviour } from '../actors/tenant/behaviour';
import { ActorClient } from '../control-plane/actor-host/client';
import { ActorHost } from '../control-plane/actor-host/host';
import { encodeJson } from '../control-plane/actor-host/protocol';
import { SqlActorStore } from '../control-plane/adapters/sql-actor-store';
import { InProcessBus } from '../control-plane/bus/in-process-bus';
import { NatsBus } from '../control-plane/bus/nats-bus';
import type { ActorStore } from '../control-plane/ports/actor-store';
import type { Bus } from '../control-plane/ports/bus';
import { systemClock } from '../control-plane/ports/clock';
import { openDatabase, type Database } from '../db/client';
import { actorState } from '../db/schema';
import { ADMIN_DATABASE_URL, createTestDatabase, requireService } from '../test/support/services';
import { sequenceBehaviour, type SeqState } from '../test/support/test-actors';
import {
  describeMachine,
  envInt,
  errorSink,
  fullGc,
  heapAfterGc,
  loadAverage,
  median,
  mergePhases,
  respawnWithGc,
  runConcurrent,
  runSequential,
  type Request,
} from './support/load';
import { fmt, markdownTable, summarize, type PhaseResult, type Summary } from './support/stats';

const FILE = fileURLToPath(import.meta.url);
const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const LAT_REQUESTS = envInt('BENCH_LATENCY_REQUESTS', 3000, 30, 50_000);
const WARMUP = envInt('BENCH_WARMUP', 300, 0, 10_000);
const ROUNDS = 3;
const MESSAGES = envInt('BENCH_MESSAGES', 50_000, 100, 1_000_000);
const ACTORS = envInt('BENCH_ACTORS', 10_000, 10, 200_000);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 256, 1, 2_000);
const PHASE_SECONDS = envInt('BENCH_PHASE_SECONDS', 15, 1, 120);
const IDLE_ACTORS = envInt('BENCH_IDLE_ACTORS', 100_000, 1_000, 1_000_000);
const REHYDRATE = envInt('BENCH_REHYDRATE_ACTORS', 10_000, 100, 200_000);
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? '1,2,3,4').split(',').map((s) => s.trim()));
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const HARD_STOP_MS = 8 * 60_000;
const WATCHDOG_GRACE_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
const POOL = 20;

const TARGET_GET_P50_RATIO = 3;
const TARGET_SEQ_P99_MS = 10;
const TARGET_ACTORS_PER_GIB = 100_000;

const GET = { type: 'get' } as const;
const quiet = pino({ level: 'silent' });
const onError = errorSink();
let aborted = false;
const stop = () => aborted;

interface Row {
  section: string;
  what: string;
  figure: string;
  baseline: string;
  ratio: string;
  target: string;
}
const summaryRows: Row[] = [];

function assertLoopback(url: string, what: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) throw new Error(`refusing non-loopback ${what} ${host}`);
}

const verdict = (ok: boolean) => (ok ? 'meets target' : 'misses target');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : 'n/a');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

function latencyLine(label: string, s: Summary, r: PhaseResult): string {
  return `  ${label.padEnd(44)} p50 ${fmt.ms(s.p50).padStart(6)} ms  p99 ${fmt.ms(s.p99).padStart(6)} ms  (${s.ok} ok, ${s.errors} err; CPU ${fmt.ms(s.benchCpuPerTx)} ms/req; machine busy ${pct(s.machineBusy)}; ${int(r.latencies.length)} samples)`;
}

function throughputLine(label: string, s: Summary, r: PhaseResult & { timedOut: boolean }): string {
  return (
    `  ${label.padEnd(44)} ${int(s.throughput).padStart(7)} msg/s  p50 ${fmt.ms(s.p50)} ms  p99 ${fmt.ms(s.p99)} ms  ` +
    `(${s.ok} ok, ${s.errors} err${r.timedOut ? `, time cap ${PHASE_SECONDS} s hit` : ''}; CPU ${fmt.ms(s.benchCpuPerTx)} ms/msg; machine busy ${pct(s.machineBusy)})`
  );
}

/** Rows of a drizzle `execute` on either driver (postgres.js: an array; PGlite: `{ rows }`). */
async function queryRows<T>(database: Database, query: ReturnType<typeof dsql>): Promise<T[]> {
  const res = (await database.db.execute(query)) as unknown;
  return (Array.isArray(res) ? res : (res as { rows: T[] }).rows) as T[];
}

interface Env {
  base: string;
  pg: Database;
  pgStore: ActorStore;
  lite: Database;
  liteStore: ActorStore;
  raw: postgres.Sql;
  nats: { host: NatsConnection; client: NatsConnection } | null;
  hosts: ActorHost[];
}

async function newHost(env: Env, bus: Bus, store: ActorStore, prefix: string, behaviours: ReadonlyArray<Behaviour<unknown>>): Promise<ActorHost> {
  const host = new ActorHost({ bus, store, clock: systemClock, log: quiet, prefix });
  for (const b of behaviours) host.register(b);
  await host.start();
  env.hosts.push(host);
  return host;
}

async function stopHost(env: Env, host: ActorHost): Promise<void> {
  await host.stop();
  env.hosts.splice(env.hosts.indexOf(host), 1);
}

const seqBehaviour = (kind = 'seq') => sequenceBehaviour(kind) as unknown as Behaviour<unknown>;

/** A nats.js echo responder (callback subscription, as NatsBus uses). */
function natsEcho(nc: NatsConnection, subject: string): NatsSubscription {
  return nc.subscribe(subject, {
    callback: (err, m) => {
      if (!err) m.respond(m.data);
    },
  });
}

// ───────────────────────────── 1. latency ─────────────────────────────

async function sectionLatency(env: Env): Promise<void> {
  console.log(`\n1. request/reply latency — sequential, ${LAT_REQUESTS} timed requests per variant in ${ROUNDS} interleaved rounds, ${WARMUP} warm-up`);
  const getPayload = encodeJson({ v: 1, ...GET });
  const variants: Array<{ key: string; label: string; request: Request }> = [];
  const teardown: Array<() => Promise<void> | void> = [];

  if (env.nats) {
    const { host: ncHost, client: ncClient } = env.nats;
    const echoSubject = `${env.base}.lat.echo`;
    const echo = natsEcho(ncHost, echoSubject);
    teardown.push(() => echo.unsubscribe());
    await ncHost.flush();
    const prefix = `${env.base}l`;
    const host = await newHost(env, new NatsBus(ncHost), env.pgStore, prefix, [seqBehaviour()]);
    teardown.push(() => stopHost(env, host));
    const client = new ActorClient(new NatsBus(ncClient), prefix);
    await ncHost.flush();
    variants.push(
      { key: 'echo', label: '(c) raw nats.js echo', request: () => ncClient.request(echoSubject, getPayload, { timeout: REQUEST_TIMEOUT_MS }) },
      { key: 'natsGet', label: '(a) actor get, NATS (no persistence)', request: () => client.ask('seq', 'lat-get', GET, REQUEST_TIMEOUT_MS) },
      { key: 'natsSeq', label: '(b) actor seq, NATS + Postgres', request: (i) => client.ask('seq', 'lat-seq', { type: 'seq', n: i }, REQUEST_TIMEOUT_MS) },
    );
  }

  // Raw compare-and-set UPDATE of one actor_state row: the floor under (b).
  const rawState: SeqState = { count: 0, last: -1, outOfOrder: 0, keys: [], reminders: [] };
  await env.raw`insert into actor_state (kind, id, state, version) values ('rawlat', 'r1', ${JSON.stringify(rawState)}::jsonb, 1)`;
  let rawVersion = 1;
  variants.push({
    key: 'rawPg',
    label: '(d) raw postgres.js CAS UPDATE',
    request: async (i) => {
      const state = JSON.stringify({ ...rawState, count: i + 1, last: i });
      const rows = await env.raw`update actor_state set state = ${state}::jsonb, version = ${rawVersion + 1}, updated_at = now()
        where kind = 'rawlat' and id = 'r1' and version = ${rawVersion} returning version`;
      if (rows.length !== 1) throw new Error('raw CAS missed');
      rawVersion++;
    },
  });

  const ipPrefix = `${env.base}i`;
  const ipBus = new InProcessBus();
  const ipHost = await newHost(env, ipBus, env.liteStore, ipPrefix, [seqBehaviour()]);
  teardown.push(() => stopHost(env, ipHost));
  const ipClient = new ActorClient(ipBus, ipPrefix);
  variants.push(
    { key: 'ipGet', label: "(a') actor get, in-process bus", request: () => ipClient.ask('seq', 'lat-get', GET, REQUEST_TIMEOUT_MS) },
    { key: 'ipSeq', label: "(b') actor seq, in-process bus + PGlite", request: (i) => ipClient.ask('seq', 'lat-seq', { type: 'seq', n: i }, REQUEST_TIMEOUT_MS) },
  );

  const parts = new Map<string, PhaseResult[]>(variants.map((v) => [v.key, []]));
  const offsets = new Map<string, number>(variants.map((v) => [v.key, 0]));
  const perRound = Math.ceil(LAT_REQUESTS / ROUNDS);
  for (let round = 0; round < ROUNDS && !aborted; round++) {
    for (const v of variants) {
      if (aborted) break;
      fullGc();
      const warmup = round === 0 ? WARMUP : Math.min(WARMUP, 30);
      const offset = offsets.get(v.key)!;
      const r = await runSequential(v.request, { count: perRound, warmup, offset, deadline: performance.now() + 20_000, stop, label: v.label, onError });
      offsets.set(v.key, offset + warmup + r.ok + r.errors);
      parts.get(v.key)!.push(r);
    }
  }
  for (const t of teardown.reverse()) await t();

  const s = new Map<string, Summary>();
  for (const v of variants) {
    const merged = mergePhases(parts.get(v.key)!);
    const sum = summarize(merged);
    s.set(v.key, sum);
    console.log(latencyLine(v.label, sum, merged));
  }
  const echo = s.get('echo');
  const natsGet = s.get('natsGet');
  const natsSeq = s.get('natsSeq');
  const rawPg = s.get('rawPg')!;
  const ipGet = s.get('ipGet')!;
  const ipSeq = s.get('ipSeq')!;
  if (echo && natsGet && natsSeq) {
    const ratio = natsGet.p50 / echo.p50;
    summaryRows.push(
      { section: '1', what: 'actor get over NATS, p50', figure: `${fmt.ms(natsGet.p50)} ms`, baseline: `raw echo ${fmt.ms(echo.p50)} ms`, ratio: `${fmt.ratio(ratio)}×`, target: `≤ ${TARGET_GET_P50_RATIO}× echo: ${verdict(ratio <= TARGET_GET_P50_RATIO)}` },
      { section: '1', what: 'actor get over NATS, p99', figure: `${fmt.ms(natsGet.p99)} ms`, baseline: `raw echo ${fmt.ms(echo.p99)} ms`, ratio: `${fmt.ratio(natsGet.p99 / echo.p99)}×`, target: '—' },
      { section: '1', what: 'actor seq over NATS + Postgres, p50', figure: `${fmt.ms(natsSeq.p50)} ms`, baseline: `raw CAS UPDATE ${fmt.ms(rawPg.p50)} ms`, ratio: `${fmt.ratio(natsSeq.p50 / rawPg.p50)}×`, target: '—' },
      { section: '1', what: 'actor seq over NATS + Postgres, p99', figure: `${fmt.ms(natsSeq.p99)} ms`, baseline: `raw CAS UPDATE ${fmt.ms(rawPg.p99)} ms`, ratio: `${fmt.ratio(natsSeq.p99 / rawPg.p99)}×`, target: `< ${TARGET_SEQ_P99_MS} ms: ${verdict(natsSeq.p99 < TARGET_SEQ_P99_MS)}` },
    );
  }
  summaryRows.push(
    { section: '1', what: "actor get, in-process bus, p50 / p99", figure: `${fmt.ms(ipGet.p50)} / ${fmt.ms(ipGet.p99)} ms`, baseline: echo ? `NATS echo ${fmt.ms(echo.p50)} ms` : '—', ratio: '—', target: 'info' },
    { section: '1', what: "actor seq, in-process + PGlite, p50 / p99", figure: `${fmt.ms(ipSeq.p50)} / ${fmt.ms(ipSeq.p99)} ms`, baseline: '—', ratio: '—', target: 'info' },
  );
}

// ──────────────────────────── 2. throughput ───────────────────────────

interface TputPhase {
  label: string;
  /** Sets up (untimed) and returns the request and a teardown; `check` runs after the phase. */
  setup(): Promise<{ request: Request; teardown(): Promise<void>; check?(ok: number): Promise<string> }>;
}

function idsFor(tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}-${i}`);
}

/** Inserts `ids` as persisted actors of `kind` at version 1 with the initial `seq` state (untimed set-up). */
async function seedSeqRows(database: Database, kind: string, ids: readonly string[]): Promise<void> {
  const state: SeqState = { count: 0, last: -1, outOfOrder: 0, keys: [], reminders: [] };
  for (let i = 0; i < ids.length; i += 1_000) {
    await database.db.insert(actorState).values(ids.slice(i, i + 1_000).map((id) => ({ kind, id, state, version: 1 })));
  }
}

/** After a `seq` phase: every acknowledged message bumped exactly one persisted version, none out of order. */
async function seqCheck(database: Database, tag: string, ok: number): Promise<string> {
  const [row] = await queryRows<{ n: number | string; v: number | string; ooo: number | string }>(
    database,
    dsql`select count(*) as n, coalesce(sum(version), 0) as v, coalesce(sum((state->>'outOfOrder')::int), 0) as ooo
         from actor_state where kind = 'seq' and id like ${`${tag}-%`}`,
  );
  const n = Number(row?.n ?? 0);
  const bumps = Number(row?.v ?? 0) - n; // seeded at version 1
  const ooo = Number(row?.ooo ?? 0);
  const good = bumps === ok && ooo === 0;
  return `${good ? 'check ok' : 'CHECK FAILED'}: ${n} rows, ${bumps} version bumps vs ${ok} acknowledged, ${ooo} out of order`;
}

async function sectionThroughput(env: Env): Promise<void> {
  console.log(
    `\n2. throughput — ${int(MESSAGES)} messages round robin over ${int(ACTORS)} existing actors (persisted at version 1 and preloaded, untimed), ${CONCURRENCY} in flight, cap ${PHASE_SECONDS} s per phase; Postgres pool ${POOL}`,
  );
  const getPayload = encodeJson({ v: 1, ...GET });
  const actorPhase = (tag: string, bus: () => { host: Bus; client: Bus }, store: ActorStore, database: Database | null, kind: 'get' | 'seq'): TputPhase['setup'] => {
    return async () => {
      const prefix = `${env.base}${tag}`;
      const buses = bus();
      const host = await newHost(env, buses.host, store, prefix, [seqBehaviour()]);
      const client = new ActorClient(buses.client, prefix);
      const ids = idsFor(tag, ACTORS);
      // Existing actors (version 1, initial state): every timed `seq` is one CAS UPDATE.
      if (kind === 'seq' && database) await seedSeqRows(database, 'seq', ids);
      await host.preload('seq', ids);
      await buses.host.flush();
      const request: Request =
        kind === 'get'
          ? (i) => client.ask('seq', ids[i % ACTORS]!, GET, REQUEST_TIMEOUT_MS)
          : (i) => client.ask('seq', ids[i % ACTORS]!, { type: 'seq', n: Math.floor(i / ACTORS) }, REQUEST_TIMEOUT_MS);
      return {
        request,
        teardown: () => stopHost(env, host),
        ...(kind === 'seq' && database ? { check: (ok: number) => seqCheck(database, tag, ok) } : {}),
      };
    };
  };

  const phases: Array<TputPhase & { key: string }> = [];
  if (env.nats) {
    const { host: ncHost, client: ncClient } = env.nats;
    const natsBuses = () => ({ host: new NatsBus(ncHost) as Bus, client: new NatsBus(ncClient) as Bus });
    phases.push(
      {
        key: 'natsEcho',
        label: 'raw nats.js echo',
        setup: async () => {
          const subject = `${env.base}.tput.echo`;
          const sub = natsEcho(ncHost, subject);
          await ncHost.flush();
          return { request: () => ncClient.request(subject, getPayload, { timeout: REQUEST_TIMEOUT_MS }), teardown: async () => sub.unsubscribe() };
        },
      },
      { key: 'natsGet', label: 'actor get, NATS (no persistence)', setup: actorPhase('ng', natsBuses, env.pgStore, null, 'get') },
      { key: 'natsSeq', label: 'actor seq, NATS + Postgres', setup: actorPhase('ns', natsBuses, env.pgStore, env.pg, 'seq') },
    );
  }
  phases.push({
    key: 'rawPg',
    label: 'raw postgres.js CAS UPDATE',
    setup: async () => {
      const ids = idsFor('rt', ACTORS);
      await seedSeqRows(env.pg, 'rawtput', ids);
      const versions = new Int32Array(ACTORS).fill(1);
      // One statement per actor at a time, as a mailbox would: the pool pipelines
      // per connection, so without this a later update could overtake an earlier one.
      const pending: Array<Promise<void> | undefined> = new Array(ACTORS);
      const update = async (a: number) => {
        const v = versions[a]!;
        const state = JSON.stringify({ count: v, last: v - 1, outOfOrder: 0, keys: [], reminders: [] });
        const rows = await env.raw`update actor_state set state = ${state}::jsonb, version = ${v + 1}, updated_at = now()
          where kind = 'rawtput' and id = ${ids[a]!} and version = ${v} returning version`;
        if (rows.length !== 1) throw new Error(`raw CAS missed on ${ids[a]}`);
        versions[a] = v + 1;
      };
      return {
        request: async (i) => {
          const a = i % ACTORS;
          const prev = pending[a];
          const next = (prev ? prev.catch(() => undefined) : Promise.resolve()).then(() => update(a));
          pending[a] = next;
          await next;
        },
        teardown: async () => undefined,
      };
    },
  });
  const ipBuses = () => {
    const b = new InProcessBus();
    return { host: b as Bus, client: b as Bus };
  };
  phases.push(
    {
      key: 'ipEcho',
      label: 'raw in-process bus echo',
      setup: async () => {
        const bus = new InProcessBus();
        const subject = `${env.base}.tput.echo`;
        bus.subscribe(subject, (m) => m.respond(m.data));
        return { request: () => bus.request(subject, getPayload, { timeoutMs: REQUEST_TIMEOUT_MS }), teardown: () => bus.close() };
      },
    },
    { key: 'ipGet', label: 'actor get, in-process bus', setup: actorPhase('ig', ipBuses, env.liteStore, null, 'get') },
    { key: 'ipSeqLite', label: 'actor seq, in-process bus + PGlite', setup: actorPhase('il', ipBuses, env.liteStore, env.lite, 'seq') },
    { key: 'ipSeqPg', label: 'actor seq, in-process bus + Postgres', setup: actorPhase('ip', ipBuses, env.pgStore, env.pg, 'seq') },
  );

  const results = new Map<string, Summary>();
  for (const phase of phases) {
    if (aborted) break;
    const { request, teardown, check } = await phase.setup();
    fullGc();
    const r = await runConcurrent(request, { total: MESSAGES, concurrency: CONCURRENCY, maxMs: PHASE_SECONDS * 1000, stop, label: phase.label, onError });
    const s = summarize(r);
    results.set(phase.key, s);
    console.log(throughputLine(phase.label, s, r));
    if (check) console.log(`  ${''.padEnd(44)} ${await check(s.ok)}`);
    await teardown();
  }

  const rate = (k: string) => results.get(k)?.throughput ?? Number.NaN;
  const row = (what: string, k: string, baseKey: string | null, baseLabel: string): Row => ({
    section: '2',
    what,
    figure: `${int(rate(k))} msg/s`,
    baseline: baseKey ? `${baseLabel} ${int(rate(baseKey))}/s` : '—',
    ratio: baseKey ? `${fmt.ratio(rate(k) / rate(baseKey))}×` : '—',
    target: 'info',
  });
  if (env.nats) {
    summaryRows.push(
      row('get, NATS (host ceiling)', 'natsGet', 'natsEcho', 'NATS echo'),
      row('seq, NATS + Postgres', 'natsSeq', 'rawPg', 'raw PG UPDATE'),
    );
  }
  summaryRows.push(
    row('get, in-process (host ceiling)', 'ipGet', 'ipEcho', 'in-process echo'),
    row('seq, in-process + PGlite', 'ipSeqLite', null, ''),
    row('seq, in-process + Postgres', 'ipSeqPg', 'rawPg', 'raw PG UPDATE'),
  );
}

// ─────────────────────────── 3. idle memory ───────────────────────────

async function sectionMemory(env: Env): Promise<void> {
  console.log(`\n3. heap per idle actor — ${int(IDLE_ACTORS)} tenant actors (tenantBehaviour, state {}) preloaded from Postgres (no rows: initial state)`);
  const prefix = `${env.base}m`;
  const host = await newHost(env, new InProcessBus(), env.pgStore, prefix, [tenantBehaviour as unknown as Behaviour<unknown>]);
  const heap0 = heapAfterGc();
  const rss0 = process.memoryUsage().rss;
  // The ids are created after the baseline: an actor's id is part of its cost.
  let ids: string[] | null = Array.from({ length: IDLE_ACTORS }, (_, i) => `tenant-${i.toString(36).padStart(6, '0')}`);
  const t0 = performance.now();
  await host.preload('tenant', ids);
  const preloadMs = performance.now() - t0;
  ids = null;
  const heap1 = heapAfterGc();
  const rss1 = process.memoryUsage().rss;
  const resident = host.resident;
  const perActor = (heap1 - heap0) / resident;
  const perGiB = 2 ** 30 / perActor;
  const dropped = host.passivateIdle(Date.now() + 24 * 3_600_000);
  const heap2 = heapAfterGc();
  await stopHost(env, host);
  console.log(`  resident ${int(resident)}; preload ${fmt.ms(preloadMs / 1000)} s (${int(resident / (preloadMs / 1000))} actors/s, loadMany on Postgres)`);
  console.log(`  heap after GC: ${fmt.ms(heap0 / 2 ** 20)} → ${fmt.ms(heap1 / 2 ** 20)} MiB: ${int(perActor)} bytes per idle actor → ${int(perGiB)} actors per GiB of heap`);
  console.log(`  RSS ${fmt.ms(rss0 / 2 ** 20)} → ${fmt.ms(rss1 / 2 ** 20)} MiB; after passivateIdle dropped ${int(dropped)}: heap ${fmt.ms(heap2 / 2 ** 20)} MiB`);
  summaryRows.push(
    { section: '3', what: `heap per idle tenant actor (N = ${int(resident)})`, figure: `${int(perActor)} B`, baseline: '—', ratio: '—', target: 'info' },
    {
      section: '3',
      what: 'idle tenant actors per GiB of heap',
      figure: int(perGiB),
      baseline: '—',
      ratio: '—',
      target: `≥ ${int(TARGET_ACTORS_PER_GIB)}: ${verdict(perGiB >= TARGET_ACTORS_PER_GIB)}`,
    },
  );
}

// ─────────────────────────── 4. rehydration ───────────────────────────

/** A realistic small `seq` state (~180 bytes of JSON). */
function persistedState(i: number): SeqState {
  const count = 1 + (i % 97);
  return {
    count,
    last: count - 1,
    outOfOrder: i % 13 === 0 ? 1 : 0,
    keys: Array.from({ length: 1 + (i % 4) }, (_, k) => `req-${i.toString(36)}-${k}-${(i * 7919 + k).toString(36)}`),
    reminders: i % 5 === 0 ? [`renew-${i}`] : [],
  };
}

async function sectionRehydration(env: Env): Promise<void> {
  console.log(`\n4. rehydration — ${int(REHYDRATE)} persisted 'seq' states loaded by a fresh host's preload (3 runs each, fresh host each run)`);
  const kind = 'rehy';
  const ids = idsFor('rh', REHYDRATE);
  const rows = ids.map((id, i) => ({ kind, id, state: persistedState(i), version: persistedState(i).count }));
  const jsonBytes = rows.reduce((a, r) => a + JSON.stringify(r.state).length, 0) / rows.length;
  for (const [name, database, store] of [
    ['Postgres', env.pg, env.pgStore],
    ['PGlite', env.lite, env.liteStore],
  ] as const) {
    if (aborted) break;
    const tIns = performance.now();
    for (let i = 0; i < rows.length; i += 1_000) await database.db.insert(actorState).values(rows.slice(i, i + 1_000));
    const insertMs = performance.now() - tIns;

    const baseline: number[] = [];
    const preload: number[] = [];
    let heapPerActor = Number.NaN;
    let verified = true;
    for (let run = 0; run < 3 && !aborted; run++) {
      fullGc();
      const tb = performance.now();
      const got = await queryRows<{ id: string }>(database, dsql`select id, state, version from actor_state where kind = ${kind}`);
      baseline.push(performance.now() - tb);
      if (got.length !== REHYDRATE) verified = false;

      const host = await newHost(env, new InProcessBus(), store, `${env.base}r`, [seqBehaviour(kind)]);
      const heap0 = run === 0 ? heapAfterGc() : 0;
      const tp = performance.now();
      await host.preload(kind, ids);
      preload.push(performance.now() - tp);
      if (run === 0) heapPerActor = (heapAfterGc() - heap0) / host.resident;
      const probe = Math.floor(REHYDRATE / 2);
      const st = host.peek(kind, ids[probe]!) as SeqState | undefined;
      if (host.resident !== REHYDRATE || st?.count !== persistedState(probe).count) verified = false;
      await stopHost(env, host);
    }
    const p = median(preload);
    const b = median(baseline);
    console.log(
      `  ${name.padEnd(9)} preload median ${fmt.ms(p)} ms (${int(REHYDRATE / (p / 1000))} actors/s; runs ${preload.map((x) => x.toFixed(0)).join(', ')} ms); ` +
        `plain SELECT ${fmt.ms(b)} ms; ${int(heapPerActor)} B heap per resident actor; bulk insert ${fmt.ms(insertMs)} ms; ${verified ? 'states verified' : 'VERIFY FAILED'}`,
    );
    summaryRows.push({
      section: '4',
      what: `rehydrate ${int(REHYDRATE)} seq actors, ${name}`,
      figure: `${fmt.ms(p)} ms (${int(REHYDRATE / (p / 1000))}/s)`,
      baseline: `plain SELECT ${fmt.ms(b)} ms`,
      ratio: `${fmt.ratio(p / b)}×`,
      target: 'info',
    });
  }
  console.log(`  (states average ${jsonBytes.toFixed(0)} bytes of JSON)`);
}

// ──────────────────────────────── main ────────────────────────────────

function natsJsVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../node_modules/nats/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function main(): Promise<number> {
  const respawned = respawnWithGc(FILE, NODE_ARGS);
  if (respawned) return respawned;

  const hardStop = setTimeout(() => {
    console.error(`bench: hard stop after ${HARD_STOP_MS / 60_000} minutes; finishing the current phase`);
    aborted = true;
  }, HARD_STOP_MS);
  hardStop.unref();
  // `on`, not `once`: a terminal's Ctrl-C reaches this process twice (directly and forwarded by the parent).
  const interrupt = () => {
    if (!aborted) console.error('bench: interrupted; cleaning up');
    aborted = true;
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  assertLoopback(ADMIN_DATABASE_URL, 'database');
  assertLoopback(NATS_URL.replace(/^nats:/, 'http:'), 'NATS server');
  const created = await createTestDatabase('actors_bench');
  if (!created) {
    console.warn('bench:actors skipped (PostgreSQL unreachable).');
    return 0;
  }
  const started = performance.now();
  // Last resort if something hangs (a query without a timeout): drop the database and leave.
  const watchdog = setTimeout(() => {
    console.error(`bench: INCOMPLETE — still running ${WATCHDOG_GRACE_MS / 1000} s after the hard stop; dropping the database and exiting`);
    void Promise.race([created.drop(), new Promise((r) => setTimeout(r, 10_000))]).finally(() => process.exit(0));
  }, HARD_STOP_MS + WATCHDOG_GRACE_MS);
  watchdog.unref();
  const closers: Array<() => Promise<unknown>> = [];
  const env = { hosts: [] as ActorHost[], base: `ab${randomBytes(4).toString('hex')}`, nats: null } as unknown as Env;
  try {
    env.pg = await openDatabase({ url: created.url, poolSize: POOL });
    closers.push(() => env.pg.close());
    env.pgStore = new SqlActorStore(env.pg.db);
    env.lite = await openDatabase({ embeddedDir: 'memory://' });
    closers.push(() => env.lite.close());
    env.liteStore = new SqlActorStore(env.lite.db);
    env.raw = postgres(created.url, { max: POOL, onnotice: () => undefined });
    closers.push(() => env.raw.end({ timeout: 5 }));

    const natsUp = await requireService('NATS', async () => void (await (await connect({ servers: NATS_URL, timeout: 2_000 })).close()));
    if (natsUp) {
      const host = await connect({ servers: NATS_URL, name: `${env.base}-host` });
      closers.push(() => host.close());
      const client = await connect({ servers: NATS_URL, name: `${env.base}-client` });
      closers.push(() => client.close());
      env.nats = { host, client };
    }

    const [pgInfo] = await env.raw<Array<{ version: string; sc: string; fsync: string; sb: string }>>`
      select version() as version, current_setting('synchronous_commit') as sc, current_setting('fsync') as fsync, current_setting('shared_buffers') as sb`;
    console.log(`\nactor host benchmark — ${new Date().toISOString()}`);
    for (const line of describeMachine([
      ['Postgres', `${pgInfo?.version ?? 'unknown'} (synchronous_commit ${pgInfo?.sc}, fsync ${pgInfo?.fsync}, shared_buffers ${pgInfo?.sb})`],
      ['NATS', env.nats ? `server ${env.nats.host.info?.version ?? '?'} at ${NATS_URL}, nats.js ${natsJsVersion()}` : 'unreachable: NATS phases skipped'],
      ['PGlite', 'in-memory (memory://), in this process'],
    ]))
      console.log(`  ${line}`);
    console.log(`  subject prefix ${env.base}*; host, client and load generator in this one process`);

    if (SECTIONS.has('1') && !aborted) await sectionLatency(env);
    if (SECTIONS.has('2') && !aborted) await sectionThroughput(env);
    if (SECTIONS.has('3') && !aborted) await sectionMemory(env);
    if (SECTIONS.has('4') && !aborted) await sectionRehydration(env);

    console.log(`\nsummary\n\n${markdownTable(['§', 'measure', 'figure', 'baseline (same run)', 'ratio', 'target'], summaryRows.map((r) => [r.section, r.what, r.figure, r.baseline, r.ratio, r.target]))}\n`);
    console.log(`Load average at end (1/5/15 min): ${loadAverage()}; total ${((performance.now() - started) / 1000).toFixed(0)} s`);
    if (onError.total() > 0) console.error(`WARNING: ${onError.total()} request(s) failed; there should be none (see the errors above).`);
    if (aborted) console.log('(stopped early: the summary holds only the phases that finished)');
    console.log('Informational only: timings never fail this run.');
    return 0;
  } finally {
    for (const h of [...env.hosts].reverse()) await h.stop().catch(() => undefined);
    for (const close of closers.reverse()) await close().catch((err: unknown) => console.error(`bench: closing failed: ${String(err)}`));
    await created.drop().catch((err: unknown) => console.error(`bench: dropping the database failed: ${String(err)}`));
    clearTimeout(hardStop);
    clearTimeout(watchdog);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:actors could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);

