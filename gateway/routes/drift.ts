import { Hono } from 'hono';
import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../../actors/errors';
import { DRIFT_CONFIG_FIELDS, type driftStatus } from '../../actors/tenant/behaviour';
import type { ActorClient } from '../../control-plane/actor-host/client';
import type { DriftService } from '../../control-plane/drift/drift-service';
import { TENANT_ID } from '../../control-plane/registry/ids';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { intParam, readJson } from '../middleware/body';
import type { Principal } from '../../actors/principal';
import type { GovernanceAction } from '../../actors/governance/unlock';

const ResetBaseline = z.strictObject({
  reason: z.string().trim().min(1).max(2000),
  /** Days of stored events the new baseline is taken from (default: the window, 7). */
  days: z.number().int().min(1).max(35).optional(),
  /** The governance unlock of `baseline.reset` with params `{ tenantId, days }`. */
  unlockId: z.string().max(100).optional(),
});

const DriftConfig = z
  .strictObject({
    ...DRIFT_CONFIG_FIELDS,
    /** Changing rollbackRmse/rollbackBias is governance-locked (`tenant.rollback-thresholds.change`). */
    unlockId: z.string().max(100).optional(),
  })
  .refine((c) => Object.keys(c).length > 0, 'give at least one setting');

/** Spends a governance unlock of `action` with `params` (refusals audited); throws when there is none. */
export type Governed = (by: Principal, action: GovernanceAction, params: Record<string, unknown>, unlockId: string | undefined) => Promise<unknown>;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function tenantParam(id: string): string {
  if (!TENANT_ID.test(id)) throw new NotFoundError(`no tenant ${id}`);
  return id;
}

/** The drift window, its signed reports and the baseline reset (`/api/v1`). */
export function driftRoutes(drift: DriftService, registry: RegistryService, actors: ActorClient, governed: Governed) {
  return new Hono()
    .get('/tenants/:tenantId/drift', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      await registry.getTenant(tenantId); // 404 for an unknown tenant
      const limit = intParam(c.req.query('limit'), 'limit', 30, 1, 365);
      const before = c.req.query('before');
      if (before !== undefined && !DAY.test(before)) throw new BadRequestError('before must be a YYYY-MM-DD day');
      const [window, items] = await Promise.all([
        actors.ask<ReturnType<typeof driftStatus>>('tenant', tenantId, { type: 'driftStatus' }),
        drift.listReports(tenantId, { limit: limit + 1, ...(before ? { before } : {}) }),
      ]);
      const page = items.slice(0, limit);
      return c.json({
        tenantId,
        window,
        latest: before ? null : (page[0] ?? null),
        items: page,
        ...(items.length > limit ? { next: page[page.length - 1]!.day } : {}),
      });
    })
    .get('/tenants/:tenantId/drift/reports/:day', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      const day = c.req.param('day');
      const report = DAY.test(day) ? await drift.getReportByDay(tenantId, day) : null;
      if (!report) throw new NotFoundError(`no drift report of tenant ${tenantId} for ${day}`);
      return c.json(report);
    })
    .put('/tenants/:tenantId/drift/config', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      await registry.getTenant(tenantId);
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'changing drift thresholds', `tenant:${tenantId}`);
      const { unlockId, ...config } = await readJson(c, DriftConfig);
      if ('rollbackRmse' in config || 'rollbackBias' in config) {
        // Checked before the unlock is spent: a refused config must not burn it.
        const status = await actors.ask<ReturnType<typeof driftStatus>>('tenant', tenantId, { type: 'driftStatus' });
        const merged = { ...status.config, ...config };
        if (!(merged.psiWarn < merged.psiCritical)) throw new BadRequestError(`psiWarn (${merged.psiWarn}) must be below psiCritical (${merged.psiCritical})`);
        const thresholds = Object.fromEntries(['rollbackRmse', 'rollbackBias'].filter((k) => k in config).map((k) => [k, config[k as 'rollbackRmse'] ?? null]));
        await governed(c.var.principal, 'tenant.rollback-thresholds.change', { tenantId, thresholds }, unlockId);
      }
      return c.json(await actors.ask('tenant', tenantId, { type: 'setDriftConfig', by: c.var.principal, config }));
    })
    .post('/tenants/:tenantId/baseline/reset', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      await registry.getTenant(tenantId);
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'resetting a drift baseline', `tenant:${tenantId}`);
      const body = await readJson(c, ResetBaseline);
      const status = await actors.ask<ReturnType<typeof driftStatus>>('tenant', tenantId, { type: 'driftStatus' });
      const days = body.days ?? status.config.windowDays;
      const baseline = await drift.baselineFromCurrentWindow(tenantId, { days, bins: status.config.bins, reason: body.reason, by: c.var.principal });
      // A baseline reset is governance-locked: the unlock is spent once the new baseline is computed.
      await governed(c.var.principal, 'baseline.reset', { tenantId, days }, body.unlockId);
      return c.json(await actors.ask('tenant', tenantId, { type: 'setBaseline', by: c.var.principal, baseline }));
    });
}
