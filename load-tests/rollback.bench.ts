/**
 * Rollback benchmark (issue #6): `npm run bench:rollback`.
 *
 * Informational only: never exits non-zero because of a time. Real NATS and
 * PostgreSQL on loopback; two control-plane nodes in this process (each with
 * its own NATS connection, database pool and routing table).
 *
 *   rollback   POST /api/v1/tenants/:id/rollback on node A → until BOTH nodes'
 *              routing tables answer with the restored champion. BENCH_ROLLBACKS
 *              (200) tenants, one rollback each, one at a time.
 *   floor      the same shape without Tollgate: one raw postgres.js transaction
 *              (UPDATE of the tenant's champion) then a NATS publish, until a
 *              second connection receives it.
 *   lookups    routing lookups per second in process (the table and the stable
 *              hash) against a plain Map.get loop.
 * Target: rollback → every node routes to the restored version, p99 < 50 ms.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { connect } from 'nats';
import pino from 'pino';
import postgres from 'postgres';
import { parseConfig } from '../control-plane/config';
import { NodeEd25519Signer } from '../control-plane/adapters/ed25519-signer';
import { buildSystem, type System } from '../control-plane/system';
import { modelVersions, tenants } from '../db/schema';
import type { ModelVersionId, TenantId } from '../db/schema/enums';
import { createTestDatabase, NATS_URL } from '../test/support/services';
import { describeMachine, envInt } from './support/load';
import { markdownTable, percentile } from './support/stats';

const N = envInt('BENCH_ROLLBACKS', 200, 5, 5_000);
const TOKEN = `bench_${randomBytes(16).toString('hex')}`;

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s[s.length - 1]! };
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
}

async function main(): Promise<number> {
  const created = await createTestDatabase('bench_rollback');
  if (!created) return 1;
  const prefix = `rb${randomBytes(3).toString('hex')}`;
  const dirs = [mkdtempSync(join(os.tmpdir(), 'tg-rb-')), mkdtempSync(join(os.tmpdir(), 'tg-rb-'))];
  const nodes: System[] = [];
  const raw = postgres(created.url, { max: 2, onnotice: () => undefined });
  const nc = await connect({ servers: NATS_URL });
  const nc2 = await connect({ servers: NATS_URL });
  try {
    for (const [i, dir] of dirs.entries()) {
      const config = parseConfig({ DATABASE_URL: created.url, NATS_URL, TOLLGATE_SUBJECT_PREFIX: prefix, TOLLGATE_DATA_DIR: dir, TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: TOKEN, TOLLGATE_NODE_ID: `bench-${i}` });
      nodes.push(await buildSystem(config, { signer: NodeEd25519Signer.generate(), log: pino({ level: 'warn' }) }));
    }
    const [a, b] = nodes as [System, System];
    // Shards settle between the two nodes before any command (a hand-over would time a command out).
    await new Promise((r) => setTimeout(r, 12_000));
    const http = async (method: string, path: string, body?: unknown) => {
      const res = await a.app.request(path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const json = (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const db = a.database.db;
    const fleet: Array<{ tenant: string; v0: string; v1: string }> = [];
    for (let i = 0; i < N; i++) {
      const tenant = `rb-${i}`;
      await http('POST', '/api/v1/tenants', { id: tenant, name: tenant, stage: 'PILOT' });
      const v0 = (await http('POST', `/api/v1/tenants/${tenant}/models`, { label: 'v0', owner: 'bench', featureSignature: 'f', artifactSha256: 'a'.repeat(64) })).id as string;
      const v1 = (await http('POST', `/api/v1/tenants/${tenant}/models`, { label: 'v1', owner: 'bench', featureSignature: 'f', artifactSha256: 'b'.repeat(64) })).id as string;
      await db.update(modelVersions).set({ state: 'DEPRECATED' }).where(eq(modelVersions.id, v0 as ModelVersionId));
      await db.update(modelVersions).set({ state: 'CHAMPION', previousStableId: v0 as ModelVersionId }).where(eq(modelVersions.id, v1 as ModelVersionId));
      await db.update(tenants).set({ championId: v1 as ModelVersionId }).where(eq(tenants.id, tenant as TenantId));
      fleet.push({ tenant, v0, v1 });
    }
    for (const n of nodes) for (const f of fleet) await n.routing.reload(f.tenant);

    // Floor: a raw transaction and a NATS publish, received on another connection.
    const floor: number[] = [];
    const sub = nc2.subscribe(`${prefix}floor.>`);
    const received = new Map<string, number>();
    void (async () => {
      for await (const m of sub) received.set(m.subject, performance.now());
    })();
    await nc2.flush();
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await raw.begin(async (tx) => {
        await tx`update tenants set champion_id = champion_id, updated_at = now() where id = ${fleet[i]!.tenant}`;
      });
      nc.publish(`${prefix}floor.${i}`, new Uint8Array(8));
      await waitFor(() => received.has(`${prefix}floor.${i}`));
      floor.push(received.get(`${prefix}floor.${i}`)! - t0);
    }

    const rollbacks: number[] = [];
    for (const f of fleet) {
      const t0 = performance.now();
      await http('POST', `/api/v1/tenants/${f.tenant}/rollback`, { reason: 'bench' });
      await waitFor(() => a.routing.routesOf(f.tenant)?.champion?.id === f.v0 && b.routing.routesOf(f.tenant)?.champion?.id === f.v0);
      rollbacks.push(performance.now() - t0);
    }

    // Lookups: the routing table against a plain Map.get of the same entries.
    const keys = Array.from({ length: 4_096 }, (_, i) => `field-${i}`);
    const table = a.routing;
    const plain = new Map(fleet.map((f) => [f.tenant, f.v0]));
    const timeLoop = (fn: (i: number) => unknown) => {
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 1_000) for (let j = 0; j < 1_000; j++, n++) fn(n);
      return n / ((performance.now() - t0) / 1000);
    };
    let sink = 0;
    const base = timeLoop((i) => (sink += plain.get(fleet[i % N]!.tenant)!.length));
    const lookups = timeLoop((i) => (sink += table.route(fleet[i % N]!.tenant, keys[i & 4095]!).modelVersionId.length));
    // With a canary at 10 %, each lookup hashes its key.
    const canaryTenant = fleet[0]!.tenant;
    // (The tenant is under the rollback's forensic lock: the canary row is placed directly.)
    await db.insert(modelVersions).values({ id: randomUUID() as ModelVersionId, tenantId: canaryTenant as TenantId, label: 'v2', owner: 'bench', featureSignature: 'f', state: 'CANARY', canaryTrafficPercent: 10 });
    await table.reload(canaryTenant);
    const withCanary = timeLoop((i) => (sink += table.route(canaryTenant, keys[i & 4095]!).modelVersionId.length));
    const [{ version }] = (await raw`select version()`) as unknown as [{ version: string }];
    const [{ n: tenantCount }] = (await db.execute(sql`select count(*)::int as n from tenants`)) as unknown as [{ n: number }];

    const r = stats(rollbacks);
    const f = stats(floor);
    console.log(`\nrollback benchmark — ${new Date().toISOString()}`);
    for (const line of describeMachine([['PostgreSQL', version.split(' on ')[0]!], ['services', 'NATS + PostgreSQL on loopback; two nodes in one process'], ['tenants', String(tenantCount)]])) console.log(`  ${line}`);
    console.log(
      '\n' +
        markdownTable(
          ['phase', 'n', 'p50 ms', 'p99 ms', 'max ms', 'p99 vs floor'],
          [
            ['floor: raw tx + NATS publish → received', String(N), f.p50.toFixed(2), f.p99.toFixed(2), f.max.toFixed(2), '1.00'],
            ['rollback → both nodes route to the restored version', String(N), r.p50.toFixed(2), r.p99.toFixed(2), r.max.toFixed(2), (r.p99 / f.p99).toFixed(2)],
          ],
        ),
    );
    console.log(
      '\n' +
        markdownTable(
          ['in-process lookups', 'per second', 'vs Map.get'],
          [
            ['baseline: Map.get', base.toFixed(0), '1.00'],
            ['routing table route(), champion only', lookups.toFixed(0), (lookups / base).toFixed(3)],
            ['routing table route(), 10 % canary (SHA-256 of the key)', withCanary.toFixed(0), (withCanary / base).toFixed(3)],
          ],
        ),
    );
    console.log(`\ntarget p99 < 50 ms: ${r.p99 < 50 ? 'met' : 'missed'} (${sink > 0 ? 'ok' : ''})`);
    return 0;
  } finally {
    for (const n of nodes) await n.close().catch(() => undefined);
    const jsm = await nc.jetstreamManager();
    for (const name of [`${prefix}_LEARNING`, `${prefix}_ALERTS`]) await jsm.streams.delete(name).catch(() => false);
    await nc.close();
    await nc2.close();
    await raw.end({ timeout: 5 });
    await created.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
