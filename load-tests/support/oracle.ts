import { execFileSync } from 'node:child_process';
import { randomUUID, type KeyObject } from 'node:crypto';
import os from 'node:os';
import { mintPartnerToken } from '../../control-plane/oracle/mint-token';

/** The oracle's audience and the one tenant the gateway benchmarks ask for. */
export const ORACLE_AUDIENCE = 'tollgate-oracle';
export const SNAPSHOT_PATH = '/oracle/v1/tenants/bench-farm/snapshot';

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
})();

/** Pins a process (all its threads) to one core; false where taskset or a second core is missing. */
export function pinToCore(pid: number, core: number): boolean {
  if (hasTaskset) execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
  return hasTaskset;
}

/** Registers partner `bench` (Ed25519 key `publicX`), tenant `bench-farm` and opens the oracle (DARK_LAUNCH). */
export async function prepareOracle(baseUrl: string, adminToken: string, publicX: string): Promise<void> {
  const admin = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${baseUrl}: ${method} ${path}: ${res.status} ${await res.text()}`);
  };
  await admin('POST', '/api/v1/partners', { id: 'bench', publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: publicX }, internal: true, rateLimitPerSecond: 100_000 });
  await admin('POST', '/api/v1/tenants', { id: 'bench-farm', name: 'Bench farm' });
  await admin('PUT', '/api/v1/oracle/exposure', { stage: 'DARK_LAUNCH' });
}

/** `n` fresh partner tokens as Authorization values (minted before a phase, so the load generator does not sign during it). */
export function bearerTokens(n: number, privateKey: KeyObject): string[] {
  return Array.from({ length: n }, () => `Bearer ${mintPartnerToken({ partnerId: 'bench', audience: ORACLE_AUDIENCE, privateKey, jti: randomUUID() })}`);
}
