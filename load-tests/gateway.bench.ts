/**
 * Oracle gateway benchmark (issue #7): `npm run bench:gateway`.
 *
 * Informational only: it never fails on a time. Bounded (hard stop at
 * 150 s): phases of BENCH_SECONDS (default 6, max 10), the throughput ones
 * after 4 s of unmeasured warm-up. Loopback only. Needs Postgres and Redis
 * (skips loudly outside CI when they are missing). Server children are
 * pinned to core 0 and this process (autocannon, token minting) to core 1
 * with taskset when the machine has two cores or more.
 *
 * In one run:
 *   R_hono   — Hono hello world on @hono/node-server (autocannon, 20 connections)
 *   R_verify — a tight loop of Ed25519 verifies with node:crypto (one core)
 *   floor    — the hello world that also verifies each fresh token's signature
 *              and does nothing else: the most any oracle could reach here
 *   oracle   — GET /oracle/v1/tenants/:id/snapshot on the real server with a
 *              fresh partner JWT per request (verify + jti SET NX in Redis + snapshot)
 *   replay   — the same token again and again at a fixed 1,000 req/s, open
 *              loop (support/paced.ts): every request after the first is a
 *              401 JTI_REPLAYED (the hello world at the same pace is its
 *              latency baseline)
 * and prints req/s, p50/p99, the CPU bound 1 / (1/R_hono + 1/R_verify) and the ratios.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createTestDatabase, REDIS_URL, requireRedis } from '../test/support/services';
import { bearerTokens, pinToCore, prepareOracle, SNAPSHOT_PATH } from './support/oracle';
import { paced } from './support/paced';
import { freePort } from './support/server';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Math.min(10, Math.max(1, Number(process.env.BENCH_SECONDS) || 6));
/** Load before each throughput phase, not measured. */
const WARMUP_SECONDS = 4;
const CONNECTIONS = 20;
/** Fresh tokens for a phase and its warm-up (enough for 8k req/s; past that, replays show as non-2xx). */
const TOKENS = (WARMUP_SECONDS + SECONDS) * 8_000;
const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;
const hardStop = setTimeout(() => {
  console.error('gateway bench: hard stop after 150 s');
  process.exit(1);
}, 150_000);
hardStop.unref();

function spawnServer(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  return { child, output: () => out };
}

async function waitFor(url: string, timeoutMs: number, output: () => string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  // Exited, or killed by a signal (then exitCode stays null): no 'exit' event will come again.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** utime + stime of a process, ms (Linux /proc; USER_HZ = 100). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

interface Figures {
  /** Server CPU per request, ms (NaN where /proc is unavailable). */
  cpuPerReq: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function cannon(serverPid: number, opts: autocannon.Options): Promise<Figures> {
  // Not measured: a freshly started server runs the path unoptimized at first (the JIT
  // needs some seconds of load; without this, its first 6 s cost about 1.5× the CPU of later ones).
  await autocannon({ connections: CONNECTIONS, ...opts, duration: WARMUP_SECONDS });
  const cpu0 = cpuMs(serverPid);
  const r = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts });
  const cpuPerReq = (cpuMs(serverPid) - cpu0) / Math.max(1, r.requests.total);
  return { cpuPerReq, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

/** The replay phase's pace: 1,000 req/s over 10 keep-alive connections, open loop (support/paced.ts). */
async function pacedPhase(serverPid: number, url: string, headers: Record<string, string>): Promise<Figures & { max: number }> {
  const cpu0 = cpuMs(serverPid);
  const r = await paced(url, { rate: 1_000, seconds: SECONDS, connections: 10, headers });
  const non2xx = Object.entries(r.statuses).reduce((n, [status, count]) => n + (Number(status) >= 300 ? count : 0), 0);
  return { cpuPerReq: (cpuMs(serverPid) - cpu0) / r.sent, rps: r.sent / SECONDS, p50: r.p50, p99: r.p99, max: r.max, non2xx, errors: r.errors };
}

function verifyLoop(ms: number): number {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.from(randomBytes(200));
  const sig = sign(null, msg, privateKey);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 100; i++) if (!verify(null, msg, publicKey, sig)) throw new Error('verify failed');
    n += 100;
  }
  return n / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  if (!(await requireRedis())) return;
  const db = await createTestDatabase('gateway_bench');
  if (!db) return;
  const pinned = pinToCore(process.pid, 1);
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tollgate-gw-bench-'));
  const prefix = `gb${randomBytes(3).toString('hex')}`;
  const children: ChildProcess[] = [];
  try {
    console.log(`gateway bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), taskset ${pinned ? 'server → core 0, load → core 1' : 'not used'}, ${SECONDS} s per phase, ${CONNECTIONS} connections`);

    // R_verify — in this process, one core.
    const rVerify = verifyLoop(2_000);
    console.log(`  R_verify  ${rVerify.toFixed(0)} verifies/s (node:crypto Ed25519)`);

    // R_hono — the hello world.
    const helloPort = await freePort();
    const hello = spawnServer(['--import', 'tsx', 'load-tests/support/hello-server.ts'], { PORT: String(helloPort) });
    children.push(hello.child);
    await waitFor(`http://127.0.0.1:${helloPort}/`, 20_000, hello.output);
    pinToCore(hello.child.pid!, 0);
    const honoFig = await cannon(hello.child.pid!, { url: `http://127.0.0.1:${helloPort}/` });
    // The latency baseline of the replay phase: the same pace and connections, nothing behind the answer.
    const honoPaced = await pacedPhase(hello.child.pid!, `http://127.0.0.1:${helloPort}/`, {});
    await stop(hello.child);
    console.log(`  R_hono    ${honoFig.rps.toFixed(0)} req/s  p50 ${honoFig.p50} ms  p99 ${honoFig.p99} ms  server CPU ${honoFig.cpuPerReq.toFixed(3)} ms/req`);
    console.log(`  R_hono at a fixed 1,000/s: p50 ${honoPaced.p50} ms  p99 ${honoPaced.p99} ms  max ${honoPaced.max} ms`);

    // The floor — hello world plus one verify per fresh token, nothing else.
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const publicX = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
    const floorPort = await freePort();
    const floor = spawnServer(['--import', 'tsx', 'load-tests/support/verify-server.ts'], { PORT: String(floorPort), PUBLIC_KEY_X: publicX });
    children.push(floor.child);
    await waitFor(`http://127.0.0.1:${floorPort}/ready`, 20_000, floor.output);
    pinToCore(floor.child.pid!, 0);
    const floorTokens = bearerTokens(TOKENS, privateKey);
    let nextFloorToken = 0;
    const floorFig = await cannon(floor.child.pid!, {
      url: `http://127.0.0.1:${floorPort}`,
      requests: [{ method: 'GET', path: '/', setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: floorTokens[nextFloorToken++ % TOKENS]! } }) }],
    });
    await stop(floor.child);
    console.log(`  floor     ${floorFig.rps.toFixed(0)} req/s  p50 ${floorFig.p50} ms  p99 ${floorFig.p99} ms  (non-2xx ${floorFig.non2xx})  server CPU ${floorFig.cpuPerReq.toFixed(3)} ms/req`);

    // The oracle on the real server (Postgres, Redis).
    const port = await freePort();
    // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the oracle server.
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const server = spawnServer([...nodeArgs, '--import', 'tsx', 'control-plane/main.ts'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      REDIS_URLS: REDIS_URL,
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_SUBJECT_PREFIX: prefix,
      TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      TOLLGATE_DEMO: '0',
      LOG_LEVEL: 'warn',
    });
    children.push(server.child);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 45_000, server.output);
    pinToCore(server.child.pid!, 0);
    const base = `http://127.0.0.1:${port}`;
    await prepareOracle(base, ADMIN, publicX);
    // The partner registry and exposure reach the request path at once on this node.
    const path = SNAPSHOT_PATH;
    const probe = await fetch(`${base}${path}`, { headers: { authorization: bearerTokens(1, privateKey)[0]! } });
    if (probe.status !== 200) throw new Error(`oracle probe: ${probe.status} ${await probe.text()}`);

    const tokens = bearerTokens(TOKENS, privateKey);
    let nextToken = 0;
    const oracleFig = await cannon(server.child.pid!, {
      url: base,
      requests: [{ method: 'GET', path, setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: tokens[nextToken++ % TOKENS]! } }) }],
    });
    console.log(`  oracle    ${oracleFig.rps.toFixed(0)} req/s  p50 ${oracleFig.p50} ms  p99 ${oracleFig.p99} ms  (non-2xx ${oracleFig.non2xx}, errors ${oracleFig.errors})  server CPU ${oracleFig.cpuPerReq.toFixed(3)} ms/req`);

    const [replayed] = bearerTokens(1, privateKey) as [string];
    await fetch(`${base}${path}`, { headers: { authorization: replayed } });
    const replayFig = await pacedPhase(server.child.pid!, `${base}${path}`, { authorization: replayed });
    console.log(`  replay    ${replayFig.rps.toFixed(0)} req/s at a fixed 1,000/s  p50 ${replayFig.p50} ms  p99 ${replayFig.p99} ms  max ${replayFig.max} ms  (401: ${replayFig.non2xx}, errors ${replayFig.errors})  server CPU ${replayFig.cpuPerReq.toFixed(3)} ms/req`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const replays = /tollgate_oracle_refusals_total\{partner="bench",reason="JTI_REPLAYED"\} (\d+)/.exec(metrics)?.[1] ?? '0';
    await stop(server.child);

    const bound = 1 / (1 / honoFig.rps + 1 / rVerify);
    // CPU per request is what the contended machine distorts least: 1000 / ms = req/s on one free core.
    const cpuBound = 1000 / (honoFig.cpuPerReq + 1000 / rVerify);
    const lines = [
      `| phase | req/s | p50 ms | p99 ms | server CPU ms/req | req/s per core by CPU |`,
      `|---|---|---|---|---|---|`,
      `| R_hono (hello world) | ${honoFig.rps.toFixed(0)} | ${honoFig.p50} | ${honoFig.p99} | ${honoFig.cpuPerReq.toFixed(3)} | ${(1000 / honoFig.cpuPerReq).toFixed(0)} |`,
      `| R_verify (Ed25519 verifies/s, one core) | ${rVerify.toFixed(0)} | | | ${(1000 / rVerify).toFixed(3)} | ${rVerify.toFixed(0)} |`,
      `| CPU bound 1/(1/R_hono + 1/R_verify) | ${bound.toFixed(0)} | | | | ${cpuBound.toFixed(0)} |`,
      `| floor: hello world + one verify per fresh token | ${floorFig.rps.toFixed(0)} | ${floorFig.p50} | ${floorFig.p99} | ${floorFig.cpuPerReq.toFixed(3)} | ${(1000 / floorFig.cpuPerReq).toFixed(0)} |`,
      `| oracle snapshot, fresh JWT per request | ${oracleFig.rps.toFixed(0)} | ${oracleFig.p50} | ${oracleFig.p99} | ${oracleFig.cpuPerReq.toFixed(3)} | ${(1000 / oracleFig.cpuPerReq).toFixed(0)} |`,
      `| replay at 1,000 req/s (401 JTI_REPLAYED) | ${replayFig.rps.toFixed(0)} | ${replayFig.p50} | ${replayFig.p99} | ${replayFig.cpuPerReq.toFixed(3)} | |`,
      `| hello world at 1,000 req/s (latency baseline) | ${honoPaced.rps.toFixed(0)} | ${honoPaced.p50} | ${honoPaced.p99} | ${honoPaced.cpuPerReq.toFixed(3)} | |`,
    ];
    console.log(`\n${lines.join('\n')}\n`);
    console.log(`  oracle / CPU bound = ${(oracleFig.rps / bound).toFixed(2)}  (target ≥ 0.8)`);
    console.log(`  floor  / CPU bound = ${(floorFig.rps / bound).toFixed(2)}  (what HTTP + one verify in one process reach: the target's ceiling on this machine)`);
    console.log(`  oracle / floor     = ${(oracleFig.rps / floorFig.rps).toFixed(2)}`);
    console.log(`  oracle / R_hono    = ${(oracleFig.rps / honoFig.rps).toFixed(2)}`);
    console.log(`  by server CPU per request: oracle ${(1000 / oracleFig.cpuPerReq).toFixed(0)} req/s per core vs bound ${cpuBound.toFixed(0)} → ${((1000 / oracleFig.cpuPerReq) / cpuBound).toFixed(2)}`);
    console.log(`  replay p99 = ${replayFig.p99} ms (target ≤ 10 ms); JTI_REPLAYED counted by the server: ${replays}`);
    if (process.env.BENCH_RESULTS_FILE) writeFileSync(process.env.BENCH_RESULTS_FILE, `${lines.join('\n')}\n`);
  } finally {
    for (const c of children) await stop(c).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}

await main();
clearTimeout(hardStop);
