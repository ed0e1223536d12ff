/**
 * Interleaved A/B of the oracle's request path: `npm run bench:gateway-ab -- <checkout A> <checkout B>`.
 *
 * Starts the server of each checkout (a git worktree with node_modules, e.g.
 * `git worktree add /tmp/before HEAD~1 && ln -s $PWD/node_modules /tmp/before/`),
 * both on core 0, and loads them in turn from core 1 — A, B, B, A, A, B … —
 * with fresh partner tokens, a warm-up before each phase, and prints each
 * phase's req/s and server CPU per request, then the means. On this VM the
 * speed drifts by ±20 % within minutes; alternating phases is what lets a
 * few percent show. Informational only. Loopback only. Needs Postgres and Redis.
 * AB_ROUNDS (default 4), BENCH_SECONDS per phase (default 5).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { createTestDatabase, REDIS_URL, requireRedis } from '../test/support/services';
import { bearerTokens, pinToCore, prepareOracle, SNAPSHOT_PATH } from './support/oracle';
import { freePort, startServer, type ServerProcess } from './support/server';

const ROUNDS = Math.min(10, Math.max(1, Number(process.env.AB_ROUNDS) || 4));
const SECONDS = Math.min(10, Math.max(1, Number(process.env.BENCH_SECONDS) || 5));
const WARMUP_SECONDS = 3;
const ADMIN = `ab-admin-${randomBytes(8).toString('hex')}`;

async function main(): Promise<void> {
  const checkouts = process.argv.slice(2).map((d) => resolve(d));
  if (checkouts.length !== 2) throw new Error('usage: npm run bench:gateway-ab -- <checkout A> <checkout B>');
  if (!(await requireRedis())) return;
  pinToCore(process.pid, 1);
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  const started: Array<{ label: 'A' | 'B'; server: ServerProcess; drop(): Promise<void>; data: string }> = [];
  try {
    for (const [i, dir] of checkouts.entries()) {
      const db = await createTestDatabase('gateway_ab');
      if (!db) return;
      const data = mkdtempSync(join(os.tmpdir(), 'tollgate-ab-'));
      const server = await startServer({
        cwd: dir,
        port: await freePort(),
        env: { DATABASE_URL: db.url, REDIS_URLS: REDIS_URL, TOLLGATE_DATA_DIR: data, TOLLGATE_SUBJECT_PREFIX: `ab${randomBytes(3).toString('hex')}`, TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: ADMIN, TOLLGATE_DEMO: '0', LOG_LEVEL: 'warn' },
      });
      started.push({ label: i === 0 ? 'A' : 'B', server, drop: db.drop, data });
      pinToCore(server.pid!, 0);
      await prepareOracle(server.baseUrl, ADMIN, x);
    }
    console.log(`gateway A/B: ${ROUNDS} rounds of ${SECONDS} s (after ${WARMUP_SECONDS} s warm-up) per checkout\n  A = ${checkouts[0]}\n  B = ${checkouts[1]}`);
    const figures = { A: [] as Array<{ rps: number; cpu: number }>, B: [] as Array<{ rps: number; cpu: number }> };
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of round % 2 ? [...started].reverse() : started) {
        const tokens = bearerTokens((WARMUP_SECONDS + SECONDS) * 9_000, privateKey);
        let next = 0;
        const opts = { url: s.server.baseUrl, connections: 20, requests: [{ method: 'GET' as const, path: SNAPSHOT_PATH, setupRequest: (req: object) => ({ ...req, headers: { authorization: tokens[next++ % tokens.length]! } }) }] };
        await autocannon({ ...opts, duration: WARMUP_SECONDS });
        const cpu0 = s.server.cpuMs() ?? Number.NaN;
        const r = await autocannon({ ...opts, duration: SECONDS });
        const cpu = ((s.server.cpuMs() ?? Number.NaN) - cpu0) / Math.max(1, r.requests.total);
        figures[s.label].push({ rps: r.requests.average, cpu });
        console.log(`  round ${round + 1} ${s.label}: ${r.requests.average.toFixed(0)} req/s, server ${cpu.toFixed(3)} ms CPU/request${r.non2xx ? ` (${r.non2xx} non-2xx)` : ''}`);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [a, b] = [figures.A, figures.B];
    const cpuA = mean(a!.map((f) => f.cpu));
    const cpuB = mean(b!.map((f) => f.cpu));
    console.log(`\n  A: ${mean(a!.map((f) => f.rps)).toFixed(0)} req/s, ${cpuA.toFixed(3)} ms CPU/request`);
    console.log(`  B: ${mean(b!.map((f) => f.rps)).toFixed(0)} req/s, ${cpuB.toFixed(3)} ms CPU/request  (B/A CPU per request ${(cpuB / cpuA).toFixed(3)})`);
  } finally {
    for (const s of started) {
      await s.server.stop().catch(() => undefined);
      await s.drop().catch(() => undefined);
      rmSync(s.data, { recursive: true, force: true });
    }
  }
}

await main();
