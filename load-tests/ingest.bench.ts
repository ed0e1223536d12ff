/**
 * Learning-event ingestion benchmark (issue #4, second half of
 * `npm run bench:drift`; alone: `npm run bench:ingest`).
 *
 * Informational only: never exits non-zero because of a time. Real NATS
 * (JetStream) and PostgreSQL on loopback; the server is a child process.
 *
 *   end to end   CLIENTS clients POST batches of BATCH events (HTTP → JetStream
 *                → durable consumer stores them → tenant actor's live window
 *                updated). Events/s = events / (first POST → the window's
 *                count reaches the total); p50/p99 per batch POST.
 *   floor        the same events published straight to JetStream by nats.js in
 *                the server's chunks of 200 (publish + ack, same concurrency):
 *                the transport alone.
 * Target: ≥ 20,000 events/s per node end to end.
 * Knobs: BENCH_BATCHES (40), BENCH_BATCH (1000), BENCH_CLIENTS (4).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { createTestDatabase, NATS_URL } from '../test/support/services';
import { JsonClient } from './support/http';
import { describeMachine, envInt } from './support/load';
import { freePort, startServer, type ServerProcess } from './support/server';
import { markdownTable, percentile } from './support/stats';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BATCHES = envInt('BENCH_BATCHES', 40, 2, 10_000);
const BATCH = envInt('BENCH_BATCH', 1_000, 1, 5_000);
const CLIENTS = envInt('BENCH_CLIENTS', 4, 1, 64);
const TARGET = 20_000;

function eventsOf(b: number, modelId: string, day: string) {
  return Array.from({ length: BATCH }, (_, i) => ({
    idempotencyKey: `b${b}-e${i}`,
    modelVersionId: modelId,
    ts: `${day}T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`,
    features: { ndvi: (i % 100) / 100, temp: 15 + (i % 20), rain: (i * 7) % 13 },
    prediction: 3 + (i % 10) / 10,
    ...(i % 4 === 0 ? { actual: 3.2 } : {}),
  }));
}

async function pool(n: number, total: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    for (let i = next++; i < total; i = next++) await work(i);
  }));
}

async function main(): Promise<number> {
  const created = await createTestDatabase('bench_ingest');
  if (!created) return 1;
  const prefix = `bi${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tollgate-bench-'));
  const token = `bench_${randomBytes(24).toString('base64url')}`;
  let server: ServerProcess | null = null;
  const nc = await connect({ servers: NATS_URL });
  try {
    server = await startServer({
      cwd: ROOT,
      port: await freePort(),
      // BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
      ...(process.env.BENCH_SERVER_ARGS ? { nodeArgs: process.env.BENCH_SERVER_ARGS.split(' ') } : {}),
      env: { DATABASE_URL: created.url, NATS_URL, TOLLGATE_SUBJECT_PREFIX: prefix, TOLLGATE_DATA_DIR: dataDir, TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: token, LOG_LEVEL: 'warn', TOLLGATE_DEMO: '0', REDIS_URLS: '', TOLLGATE_KEY_DIR: '' },
    });
    const client = new JsonClient(server.baseUrl, token, CLIENTS + 2);
    const must = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const r = await client.request(method, path, body, 60_000);
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
      return r.body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    await must('POST', '/api/v1/tenants', { id: 'bench', name: 'Bench' });
    const model = await must('POST', '/api/v1/tenants/bench/models', { label: 'v1', owner: 'bench', featureSignature: 'ndvi,temp,rain' });
    const day = new Date().toISOString().slice(0, 10);
    const total = BATCHES * BATCH;

    // Floor: JetStream publish + ack of the same events, same concurrency, no HTTP or storage.
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: `${prefix}_FLOOR`, subjects: [`${prefix}floor.>`], duplicate_window: 3_600_000_000_000 });
    const js = nc.jetstream();
    const floorSubject = `${prefix}floor.events`;
    const enc = new TextEncoder();
    const f0 = performance.now();
    await pool(CLIENTS, BATCHES, async (b) => {
      const evs = eventsOf(b, model.id as string, day).map((e) => ({ ...e, tenantId: 'floor', source: null, receivedAt: new Date().toISOString() }));
      const chunks = [];
      for (let i = 0; i < evs.length; i += 200) chunks.push(evs.slice(i, i + 200));
      await Promise.all(chunks.map((c, i) => js.publish(floorSubject, enc.encode(JSON.stringify({ events: c })), { msgID: `floor:${b}:${i}` })));
    });
    const floorRate = total / ((performance.now() - f0) / 1000);

    const latencies: number[] = [];
    const t0 = performance.now();
    await pool(CLIENTS, BATCHES, async (b) => {
      const s = performance.now();
      const r = await must('POST', '/api/v1/tenants/bench/events', { events: eventsOf(b, model.id as string, day) });
      latencies.push(performance.now() - s);
      if (r.accepted !== BATCH) throw new Error(`batch ${b}: ${JSON.stringify(r).slice(0, 300)}`);
    });
    const posted = performance.now();
    for (;;) {
      const w = await must('GET', '/api/v1/tenants/bench/drift');
      if ((w.window.open[day]?.n ?? 0) >= total) break;
      if (performance.now() - posted > 120_000) throw new Error(`window holds ${w.window.open[day]?.n} of ${total} after 120 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = performance.now();
    latencies.sort((a, b) => a - b);
    const e2e = total / ((done - t0) / 1000);
    const accept = total / ((posted - t0) / 1000);
    console.log(`\ningestion benchmark — ${new Date().toISOString()}`);
    for (const line of describeMachine([['services', 'NATS JetStream + PostgreSQL on loopback']])) console.log(`  ${line}`);
    console.log(`  ${BATCHES} batches × ${BATCH} events, ${CLIENTS} concurrent clients\n`);
    console.log(
      markdownTable(
        ['phase', 'events/s', 'p50 batch ms', 'p99 batch ms', 'vs floor'],
        [
          ['floor: nats.js JetStream publish+ack', floorRate.toFixed(0), '', '', '1.00'],
          ['HTTP accepted (on the stream)', accept.toFixed(0), percentile(latencies, 0.5).toFixed(1), percentile(latencies, 0.99).toFixed(1), (accept / floorRate).toFixed(2)],
          ['end to end (window updated)', e2e.toFixed(0), '', '', (e2e / floorRate).toFixed(2)],
        ],
      ),
    );
    console.log(`\ntarget ≥ ${TARGET} events/s end to end: ${e2e >= TARGET ? 'met' : 'missed'}`);
    client.close();
    if (process.env.BENCH_SERVER_OUTPUT) console.log(server.output().slice(-3000));
    return 0;
  } finally {
    await server?.stop().catch(() => undefined);
    const jsm = await nc.jetstreamManager();
    for (const name of [`${prefix}_LEARNING`, `${prefix}_ALERTS`, `${prefix}_FLOOR`]) await jsm.streams.delete(name).catch(() => false);
    await nc.close();
    await created.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
