import { Hono } from 'hono';
import { z } from 'zod';
import { MODEL_STATES, TENANT_STAGES } from '../../db/schema/enums';
import { NotFoundError } from '../../actors/errors';
import type { ActorClient } from '../../control-plane/actor-host/client';
import { isUuid, TENANT_ID } from '../../control-plane/registry/ids';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { intParam, readJson } from '../middleware/body';

const text = (max: number) => z.string().trim().min(1).max(max);

const CreateTenant = z.strictObject({
  id: z.string().regex(TENANT_ID, 'must match ^[a-z0-9][a-z0-9-]{0,62}$'),
  name: text(200),
  stage: z.enum(TENANT_STAGES).optional(),
});

const CreateModel = z.strictObject({
  label: text(200),
  owner: text(200).nullable().optional(),
  featureSignature: text(512),
  artifactSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters').nullable().optional(),
  parentId: z.uuid().nullable().optional(),
});

const Transition = z.strictObject({
  to: z.enum(MODEL_STATES),
  reason: text(2000),
  idempotencyKey: z.string().min(1).max(200),
  expectedRevision: z.number().int().min(0),
});

const Rollback = z.strictObject({ reason: text(2000) });
const CanaryTraffic = z.strictObject({ percent: z.number().min(0).max(100), reason: text(2000) });

const PromotionControl = z.strictObject({ reason: text(2000) });

const Approval = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  justification: text(2000),
});

function tenantParam(id: string): string {
  if (!TENANT_ID.test(id)) throw new NotFoundError(`no tenant ${id}`);
  return id;
}

function modelParam(id: string): string {
  if (!isUuid(id)) throw new NotFoundError(`no model version ${id}`);
  return id.toLowerCase();
}

/**
 * Tenants, model versions and their lifecycle (`/api/v1`). Reads go to the
 * database; every change goes to the owning actor over the bus.
 */
export function registryRoutes(registry: RegistryService, actors: ActorClient) {
  return new Hono()
    .post('/tenants', async (c) => {
      const { id, ...body } = await readJson(c, CreateTenant);
      return c.json(await actors.ask('tenant', id, { type: 'create', by: c.var.principal, ...body }), 201);
    })
    .get('/tenants', async (c) => {
      const limit = intParam(c.req.query('limit'), 'limit', 100, 1, 500);
      return c.json(await registry.listTenants(c.req.query('after'), limit));
    })
    .get('/tenants/:tenantId', async (c) => c.json(await registry.getTenant(c.req.param('tenantId'))))
    .post('/tenants/:tenantId/models', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      const body = await readJson(c, CreateModel);
      return c.json(await actors.ask('tenant', tenantId, { type: 'registerModel', by: c.var.principal, ...body }), 201);
    })
    .get('/tenants/:tenantId/models', async (c) => {
      const limit = intParam(c.req.query('limit'), 'limit', 100, 1, 500);
      return c.json(await registry.listModels(c.req.param('tenantId'), c.req.query('after'), limit));
    })
    .get('/tenants/:tenantId/autonomy', async (c) => c.json(await registry.autonomy(tenantParam(c.req.param('tenantId')))))
    .post('/tenants/:tenantId/rollback', async (c) => {
      const tenantId = tenantParam(c.req.param('tenantId'));
      const body = await readJson(c, Rollback);
      return c.json(await actors.ask('tenant', tenantId, { type: 'rollback', by: c.var.principal, ...body }));
    })
    .get('/models/:id', async (c) => c.json(await registry.getModel(c.req.param('id'))))
    .post('/models/:id/transitions', async (c) => {
      const id = modelParam(c.req.param('id'));
      const body = await readJson(c, Transition);
      return c.json(await actors.ask('model', id, { type: 'transition', by: c.var.principal, ...body }));
    })
    .put('/models/:id/canary/traffic', async (c) => {
      const id = modelParam(c.req.param('id'));
      const body = await readJson(c, CanaryTraffic);
      return c.json(await actors.ask('model', id, { type: 'setCanaryTraffic', by: c.var.principal, ...body }));
    })
    .get('/models/:id/promotion', async (c) => {
      const id = modelParam(c.req.param('id'));
      await registry.getModel(id);
      return c.json({ modelVersionId: id, promotion: await actors.ask('model', id, { type: 'promotionStatus' }) });
    })
    .post('/models/:id/promotion/kill', async (c) => {
      const id = modelParam(c.req.param('id'));
      const body = await readJson(c, PromotionControl);
      await registry.getModel(id);
      return c.json(await actors.ask('model', id, { type: 'killPromotion', by: c.var.principal, ...body }));
    })
    .post('/models/:id/promotion/resume', async (c) => {
      const id = modelParam(c.req.param('id'));
      const body = await readJson(c, PromotionControl);
      await registry.getModel(id);
      return c.json(await actors.ask('model', id, { type: 'resumePromotion', by: c.var.principal, ...body }));
    })
    .post('/models/:id/approvals', async (c) => {
      const id = modelParam(c.req.param('id'));
      const body = await readJson(c, Approval);
      return c.json(await actors.ask('model', id, { type: 'approve', by: c.var.principal, ...body }), 201);
    });
}
