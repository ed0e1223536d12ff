import { spawn } from 'node:child_process';
import os from 'node:os';
import { busyShare, machineCpu, type PhaseResult } from './stats';

/**
 * Load generators for in-process benchmarks (no server child): sequential
 * request/reply latency and bounded-concurrency throughput, plus the GC
 * plumbing for heap measurements.
 */

/** One request; throws on failure. `i` is its index within the phase. */
export type Request = (i: number) => Promise<unknown>;

export interface ErrorSink {
  (where: string, err: unknown): void;
}

/** Collects errors, printing the first few. */
export function errorSink(maxPrinted = 20): ErrorSink & { total(): number } {
  let total = 0;
  const sink = ((where: string, err: unknown) => {
    total++;
    if (total <= maxPrinted) console.error(`  ERROR [${where}] ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    else if (total === maxPrinted + 1) console.error('  (further errors are counted, not printed)');
  }) as ErrorSink & { total(): number };
  sink.total = () => total;
  return sink;
}

interface Window {
  cpu0: NodeJS.CpuUsage;
  machine0: ReturnType<typeof machineCpu>;
}

function openWindow(): Window {
  return { cpu0: process.cpuUsage(), machine0: machineCpu() };
}

function closeWindow(w: Window, r: { ok: number; errors: number; elapsedMs: number; latencies: number[] }): PhaseResult {
  const cpu = process.cpuUsage(w.cpu0);
  return { ...r, cpu: { serverMs: null, benchMs: (cpu.user + cpu.system) / 1000 }, machineBusy: busyShare(w.machine0, machineCpu()) };
}

/**
 * `warmup` untimed requests, then `count` timed ones, one at a time; stops
 * early at `deadline` (performance.now() ms) or when `stop()` says so.
 * `offset` shifts the request index (so interleaved rounds keep counting).
 */
export async function runSequential(
  request: Request,
  opts: { count: number; warmup: number; offset?: number; deadline: number; stop: () => boolean; label: string; onError: ErrorSink },
): Promise<PhaseResult> {
  let i = opts.offset ?? 0;
  for (let w = 0; w < opts.warmup && !opts.stop() && performance.now() < opts.deadline; w++) {
    try {
      await request(i++);
    } catch (err) {
      opts.onError(`${opts.label} warm-up`, err);
    }
  }
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const win = openWindow();
  const start = performance.now();
  let last = start;
  for (let n = 0; n < opts.count && !opts.stop(); n++) {
    const t0 = performance.now();
    if (t0 >= opts.deadline) break;
    try {
      await request(i++);
      last = performance.now();
      latencies.push(last - t0);
      ok++;
    } catch (err) {
      last = performance.now();
      errors++;
      opts.onError(opts.label, err);
    }
  }
  return closeWindow(win, { ok, errors, elapsedMs: last - start, latencies });
}

/**
 * `total` requests with at most `concurrency` in flight (each worker takes
 * the next index), stopping early at `maxMs` or when `stop()` says so.
 */
export async function runConcurrent(
  request: Request,
  opts: { total: number; concurrency: number; maxMs: number; stop: () => boolean; label: string; onError: ErrorSink },
): Promise<PhaseResult & { timedOut: boolean }> {
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let next = 0;
  let timedOut = false;
  const win = openWindow();
  const start = performance.now();
  const end = start + opts.maxMs;
  let last = start;
  const worker = async () => {
    while (next < opts.total && !opts.stop()) {
      const t0 = performance.now();
      if (t0 >= end) {
        timedOut = true;
        break;
      }
      const i = next++;
      try {
        await request(i);
        const t1 = performance.now();
        latencies.push(t1 - t0);
        ok++;
        if (t1 > last) last = t1;
      } catch (err) {
        errors++;
        last = Math.max(last, performance.now());
        opts.onError(opts.label, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  return { ...closeWindow(win, { ok, errors, elapsedMs: last - start, latencies }), timedOut };
}

/** Merges the samples of several interleaved rounds of one variant. */
export function mergePhases(parts: readonly PhaseResult[]): PhaseResult {
  const busy = parts.map((p) => p.machineBusy).filter((b): b is number => b !== null);
  return {
    ok: parts.reduce((a, p) => a + p.ok, 0),
    errors: parts.reduce((a, p) => a + p.errors, 0),
    elapsedMs: parts.reduce((a, p) => a + p.elapsedMs, 0),
    latencies: parts.flatMap((p) => p.latencies),
    cpu: { serverMs: null, benchMs: parts.reduce((a, p) => a + p.cpu.benchMs, 0) },
    machineBusy: busy.length ? busy.reduce((a, b) => a + b, 0) / busy.length : null,
  };
}

/** Full, repeated garbage collection (needs --expose-gc). */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('global.gc is missing: run node with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
}

/** Heap in use after a full collection, bytes. */
export function heapAfterGc(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

/**
 * When global.gc is missing, runs this script again in a child node with
 * --expose-gc (and `extraNodeArgs`, e.g. --cpu-prof) and resolves to its exit
 * code; resolves null when the current process already has gc.
 */
export function respawnWithGc(file: string, extraNodeArgs: readonly string[]): Promise<number> | null {
  if (typeof (globalThis as { gc?: unknown }).gc === 'function') return null;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', ...extraNodeArgs, '--import', 'tsx', file, ...process.argv.slice(2)], { stdio: 'inherit', env: process.env });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.once('error', (err) => {
      console.error(`could not re-spawn with --expose-gc: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

export function describeMachine(extra: ReadonlyArray<readonly [string, string]>): string[] {
  const cpus = os.cpus();
  return [
    `CPU: ${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length}`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `Node: ${process.version} (${process.execArgv.filter((a) => a.startsWith('--') && a !== '--import').join(' ') || 'no flags'})`,
    ...extra.map(([k, v]) => `${k}: ${v}`),
    `Load average at start (1/5/15 min): ${loadAverage()}`,
  ];
}

export const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max} (got ${raw})`);
  return n;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
