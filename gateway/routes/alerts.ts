import { Hono } from 'hono';
import { z } from 'zod';
import { BadRequestError } from '../../actors/errors';
import type { AlertService } from '../../control-plane/alerts/alert-service';
import { TENANT_ID } from '../../control-plane/registry/ids';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { intParam, readJson } from '../middleware/body';

const Ack = z.strictObject({
  label: z.enum(['true_positive', 'false_positive']).optional(),
  note: z.string().trim().min(1).max(2000).optional(),
});

/** Alerts: the feed and acknowledgements (`/api/v1`). */
export function alertRoutes(alerts: AlertService, registry: RegistryService) {
  return new Hono()
    .get('/alerts', async (c) => {
      const tenantId = c.req.query('tenantId');
      if (tenantId !== undefined && !TENANT_ID.test(tenantId)) throw new BadRequestError('tenantId: not a tenant id');
      const open = c.req.query('open');
      if (open !== undefined && open !== 'true' && open !== 'false') throw new BadRequestError('open must be true or false');
      const before = c.req.query('before');
      if (before !== undefined && Number.isNaN(Date.parse(before))) throw new BadRequestError('before must be a time (ISO 8601)');
      const limit = intParam(c.req.query('limit'), 'limit', 100, 1, 500);
      return c.json(await alerts.list({ ...(tenantId ? { tenantId } : {}), open: open === 'true', ...(before ? { before } : {}), limit }));
    })
    .post('/alerts/:id/ack', async (c) => {
      await registry.requireRoleAudited(c.var.principal, 'MANAGER', 'acknowledging an alert', `alert:${c.req.param('id')}`);
      const body = await readJson(c, Ack);
      return c.json(await alerts.acknowledge(c.req.param('id'), body, c.var.principal));
    });
}
