import { Hono } from 'hono';
import { BadRequestError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { accuracySincePromotion } from '../../control-plane/impact/accuracy-since-promotion';
import { TENANT_ID } from '../../control-plane/registry/ids';
import { intParam } from '../middleware/body';

/** Impact (`/api/v1`): accuracy since the last promotion per tenant, from the learning events. Any role reads it. */
export function impactRoutes(db: Db) {
  return new Hono().get('/impact/accuracy', async (c) => {
    const tenantId = c.req.query('tenantId');
    if (tenantId !== undefined && !TENANT_ID.test(tenantId)) throw new BadRequestError('tenantId: not a tenant id');
    const windowDays = intParam(c.req.query('windowDays'), 'windowDays', 30, 1, 365);
    return c.json(await accuracySincePromotion(db, { windowDays, ...(tenantId ? { tenantId } : {}) }));
  });
}
