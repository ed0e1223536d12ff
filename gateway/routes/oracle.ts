import { Hono } from 'hono';
import { z } from 'zod';
import { BadRequestError } from '../../actors/errors';
import { TENANT_ID } from '../../control-plane/registry/ids';
import { MAX_BATCH_TENANTS, type SignedBody, type SnapshotService } from '../../control-plane/oracle/snapshots';
import { partnerAuth, type PartnerAuthOptions } from '../middleware/partner-auth';
import { readStrictJson, wireBodyLimit } from '../middleware/wire-body';

/** Partner request bodies are small: 100 tenant ids fit in a few KB. */
export const ORACLE_MAX_BODY_BYTES = 256 * 1024;

const BatchRequest = z.strictObject({
  tenantIds: z
    .array(z.string().regex(TENANT_ID, 'must be a tenant id'))
    .min(1)
    .max(MAX_BATCH_TENANTS)
    .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a tenant id'),
});

/**
 * The signed bytes with plain-object headers: @hono/node-server writes such a
 * Response straight to the socket (no WHATWG Headers, no UTF-8 encoding per
 * request).
 */
function signedResponse({ bytes, signature }: SignedBody): Response {
  return new Response(bytes, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'tollgate-signature': signature } });
}

/** The partner-facing oracle (`/oracle/v1`): signed TrustSnapshots. */
export function oracleRoutes(snapshots: SnapshotService, auth: PartnerAuthOptions) {
  return new Hono()
    .use('*', wireBodyLimit(ORACLE_MAX_BODY_BYTES))
    .use('*', partnerAuth(auth))
    .get('/tenants/:tenantId/snapshot', async (c) => {
      const tenantId = c.req.param('tenantId');
      if (!TENANT_ID.test(tenantId)) throw new BadRequestError('tenantId: must be a tenant id', { details: { field: 'tenantId' } });
      return signedResponse(await snapshots.signedSnapshot(tenantId));
    })
    .post('/snapshots:batch', async (c) => {
      const { tenantIds } = readStrictJson(c, BatchRequest);
      return signedResponse(snapshots.sign({ snapshots: await snapshots.batch(tenantIds) }));
    });
}
