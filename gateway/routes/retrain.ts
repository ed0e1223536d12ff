import { Hono } from 'hono';
import { z } from 'zod';
import { NotFoundError } from '../../actors/errors';
import { TENANT_ID } from '../../control-plane/registry/ids';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import type { RetrainService } from '../../control-plane/retrain/retrain-service';
import { readJson } from '../middleware/body';

const Reason = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

function tenantParam(id: string): string {
  if (!TENANT_ID.test(id)) throw new NotFoundError(`no tenant ${id}`);
  return id;
}

/** Retraining: manual trigger (MANAGER), status for the console, breaker reset (ADMIN). */
export function retrainRoutes(retrain: RetrainService, registry: RegistryService) {
  return new Hono()
    .post('/tenants/:tenantId/retrain', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      await registry.requireRoleAudited(c.var.principal, 'MANAGER', 'requesting a retrain', `tenant:${tenantId}`);
      const { reason } = await readJson(c, Reason);
      await registry.getTenant(tenantId);
      return c.json(await retrain.request(tenantId, c.var.principal, reason), 202);
    })
    .get('/tenants/:tenantId/retrain', async (c) => c.json(await retrain.status(tenantParam(c.req.param('tenantId')))))
    .post('/tenants/:tenantId/retrain/reset', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'resetting the retrain circuit breaker', `tenant:${tenantId}`);
      const { reason } = await readJson(c, Reason);
      await registry.getTenant(tenantId);
      return c.json(await retrain.reset(tenantId, c.var.principal, reason));
    });
}
