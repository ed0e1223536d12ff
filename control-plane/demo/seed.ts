import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { modelVersions, tenants } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import type { Logger } from 'pino';
import { expectOk, type Call } from './api';
import { unlockWithDemoCommittee } from './committee-unlock';
import type { DemoCredentials } from './credentials';
import { FEATURES } from './fields';
import { DEMO_TENANTS, demoArtifactDigest, type DemoTenant } from './story';

const FEATURE_SIGNATURE = FEATURES.join(',');

/** What seeding needs of the node beyond its public API: placing the first champions. */
export interface SeedDeps {
  call: Call;
  credentials: DemoCredentials;
  db: Db;
  audit: AuditLog;
  /** Reloads a tenant's routes after its champion was placed. */
  reloadRoutes(tenantId: string): Promise<void>;
  /** The data folder holding the committee's key and share files. */
  dataDir: string;
  log?: Logger;
}

/** The demo's economics: dollars per prediction per t/ha of absolute error. */
export const DEMO_VALUE_PER_TONNE_USD = 18;

/** cedar-ridge's production-rollback threshold: its champions' RMSE is about 0.5 t/ha when healthy. */
export const DEMO_ROLLBACK_RMSE = 1.5;

/**
 * Creates the demo tenants that do not exist yet, each with its rollout
 * policy and a champion (cedar-ridge: v2 over v1, so it has something to roll
 * back to). Returns the tenants created now (empty on a restart).
 */
export async function seedTenants(d: SeedDeps): Promise<DemoTenant[]> {
  const { call } = d;
  const admin = d.credentials.users.admin.token;
  const manager = d.credentials.users.manager.token;
  const created: DemoTenant[] = [];
  for (const t of DEMO_TENANTS) {
    const existing = await call('GET', `/api/v1/tenants/${t.id}`, undefined, admin);
    if (existing.status === 200) continue;
    await expectOk(call, 'POST', '/api/v1/tenants', { id: t.id, name: `${t.name} (${t.crop})`, stage: 'PILOT' }, admin, [201]);
    // One canary wave at 50 %: the demo's traffic reaches the guard's 1,000 labels per arm in simulated hours.
    await expectOk(call, 'PUT', `/api/v1/tenants/${t.id}/rollout-policy`, { waves: [50], shadowCycles: 3, justification: 'demo: one 50 % canary wave so the story unfolds in minutes' }, manager, [200]);
    // What accuracy is worth, so the Executive view states an ROI once a retrained champion is measured.
    await expectOk(call, 'PUT', `/api/v1/tenants/${t.id}/economics`, { valuePerErrorUnitUsd: DEMO_VALUE_PER_TONNE_USD, unit: 't/ha of yield', justification: 'demo: a yield forecast off by 1 t/ha costs about $18 per field decision (inputs, contracts)' }, manager, [200]);
    const v1 = await registerValidated(call, manager, t.id, 'v1');
    if (t.plot === 'production-rollback') {
      await placeChampion(d, t.id, v1, null);
      const v2 = await registerValidated(call, manager, t.id, 'v2');
      await placeChampion(d, t.id, v2, v1);
      await setRollbackThreshold(d, t.id);
    } else {
      await placeChampion(d, t.id, v1, null);
    }
    created.push(t);
  }
  return created;
}

/**
 * Rollback thresholds are governance-locked: the demo committee signs the
 * unlock (5 of 7, from their share files), then a closed drift day whose
 * champion RMSE is above it rolls production back on its own.
 */
async function setRollbackThreshold(d: SeedDeps, tenantId: string): Promise<void> {
  if (!d.credentials.committee) {
    d.log?.warn({ tenantId }, 'demo: another governance committee is installed; no automatic rollback threshold (the on-call ADMIN rolls back by hand)');
    return;
  }
  const thresholds = { rollbackRmse: DEMO_ROLLBACK_RMSE };
  const unlockId = await unlockWithDemoCommittee(d, 'tenant.rollback-thresholds.change', { tenantId, thresholds }, `demo: roll ${tenantId} back when its champion's daily RMSE exceeds ${DEMO_ROLLBACK_RMSE} t/ha`);
  await expectOk(d.call, 'PUT', `/api/v1/tenants/${tenantId}/drift/config`, { ...thresholds, unlockId }, d.credentials.users.admin.token, [200]);
  d.log?.info(
    { tenantId, beat: 'governance.unlock', unlockId, ...thresholds },
    `${tenantId}: the demo committee (${d.credentials.committee.threshold} of ${d.credentials.committee.members.length}) signed a rollback threshold: a day with champion RMSE above ${DEMO_ROLLBACK_RMSE} t/ha rolls production back`,
  );
}

async function registerValidated(call: Call, token: string, tenantId: string, label: string): Promise<string> {
  const m = await expectOk(call, 'POST', `/api/v1/tenants/${tenantId}/models`, { label, owner: 'demo-data-science', featureSignature: FEATURE_SIGNATURE, artifactSha256: demoArtifactDigest(tenantId, label) }, token, [201]);
  const id = m.body.id as string;
  let revision = m.body.revision as number;
  for (const to of ['TRAINING', 'VALIDATED']) {
    const r = await expectOk(call, 'POST', `/api/v1/models/${id}/transitions`, { to, reason: 'demo seed', idempotencyKey: `demo-seed-${id}-${to}`, expectedRevision: revision }, token, [200]);
    revision = r.body.revision as number;
  }
  return id;
}

/**
 * Makes a validated version the tenant's champion directly (demo seed only:
 * a first champion has no control arm to be promoted against), the previous
 * one DEPRECATED as its stable fallback; audited as `demo.champion.placed`.
 */
async function placeChampion(d: SeedDeps, tenantId: string, modelId: string, previousId: string | null): Promise<void> {
  await d.db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    const [model] = await tx.select().from(modelVersions).where(eq(modelVersions.id, modelId as ModelVersionId));
    if (!model || model.state !== 'VALIDATED') throw new Error(`demo seed: ${modelId} is not VALIDATED`);
    if (previousId) {
      const [prev] = await tx.select().from(modelVersions).where(eq(modelVersions.id, previousId as ModelVersionId));
      await tx.update(modelVersions).set({ state: 'DEPRECATED', revision: prev!.revision + 1 }).where(eq(modelVersions.id, previousId as ModelVersionId));
    }
    await tx
      .update(modelVersions)
      .set({ state: 'CHAMPION', canaryVerdict: 'PASSED', previousStableId: (previousId as ModelVersionId | null) ?? null, revision: model.revision + 1 })
      .where(eq(modelVersions.id, modelId as ModelVersionId));
    await tx.update(tenants).set({ championId: modelId as ModelVersionId }).where(eq(tenants.id, tenantId as TenantId));
    await d.audit.append(tx, {
      actor: 'system:demo',
      action: 'demo.champion.placed',
      subject: `model:${modelId}`,
      payload: { tenantId, modelVersionId: modelId, previousStableId: previousId, reason: 'demo seed: a first champion has no control arm to be promoted against, so the demo places it' },
    });
  });
  await d.reloadRoutes(tenantId);
}
