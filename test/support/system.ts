import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../control-plane/config';
import { NodeEd25519Signer } from '../../control-plane/adapters/ed25519-signer';
import { ManualClock } from '../../control-plane/ports/clock';
import { buildSystem, type BuildOptions, type System } from '../../control-plane/system';

export const BOOTSTRAP_TOKEN = 'test-bootstrap-token-0123456789';

/** A whole node on an in-memory embedded database, driven through app.request(). */
export async function startTestSystem(
  env: Record<string, string> = {},
  options: Omit<BuildOptions, 'clock'> & { clock?: ManualClock } = {},
): Promise<System & { clock: ManualClock; dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const config = parseConfig({ TOLLGATE_DATA_DIR: dataDir, TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: BOOTSTRAP_TOKEN, ...env });
  const clock = options.clock ?? new ManualClock(Date.now());
  const system = await buildSystem(config, {
    ...options,
    clock,
    signer: NodeEd25519Signer.generate(),
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    embeddedDir: env.DATABASE_URL ? undefined : 'memory://',
  });
  return Object.assign(system, {
    clock,
    dispose: async () => {
      await system.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface Call {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
  text: string;
}

/** Calls the app in-process with JSON in and out. */
export function client(app: { request(input: string, init?: RequestInit): Response | Promise<Response> }, token?: string) {
  return async (method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Call> => {
    const headers: Record<string, string> = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await app.request(path, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  };
}
