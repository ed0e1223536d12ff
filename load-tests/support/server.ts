import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';

const LOOPBACK = '127.0.0.1';

/** A TCP port that was free on loopback a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

export interface ServerProcess {
  baseUrl: string;
  pid: number | undefined;
  /** Everything the child wrote (stdout + stderr), for diagnosis. */
  output(): string;
  /** CPU time (user + system) the child has used so far, ms; null where /proc is unavailable. */
  cpuMs(): number | null;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node --import tsx control-plane/main.ts` as a child process (so the
 * server and the load generator run on separate cores) and waits until
 * /readyz answers 200.
 */
export async function startServer(opts: {
  cwd: string;
  env: Record<string, string>;
  port: number;
  /** Extra node flags for the child, e.g. --cpu-prof (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}): Promise<ServerProcess> {
  const baseUrl = `http://${LOOPBACK}:${opts.port}`;
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'control-plane/main.ts'], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, HOST: LOOPBACK, PORT: String(opts.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );

  const server: ServerProcess = {
    baseUrl,
    pid: child.pid,
    output: () => out,
    cpuMs: () => (child.pid === undefined ? null : procCpuMs(child.pid)),
    stop: async (graceMs = 10_000) => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
      await exitPromise;
      clearTimeout(timer);
    },
  };

  const deadline = performance.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      const e = exited as { code: number | null; signal: NodeJS.Signals | null };
      throw new Error(`server exited before it was ready (code ${e.code}, signal ${e.signal}):\n${out.slice(-4000)}`);
    }
    if (await readyz(baseUrl)) return server;
    if (performance.now() > deadline) {
      await server.stop(2_000);
      throw new Error(`server not ready within ${opts.readyTimeoutMs ?? 60_000} ms:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readyz(baseUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${baseUrl}/readyz`, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.setTimeout(2_000, () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** utime + stime of a process from /proc/<pid>/stat (Linux, USER_HZ = 100). */
function procCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}
