import { Hono } from 'hono';
import { z } from 'zod';
import { EventBatchSchema } from '../../actors/learning/event';
import { TENANT_ID } from '../../control-plane/registry/ids';
import type { IngestionService } from '../../control-plane/ingestion/ingest';
import type { SourceRegistry } from '../../control-plane/ingestion/sources';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { readJson } from '../middleware/body';


const RegisterSource = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must match ^[a-z0-9][a-z0-9._-]{0,62}$'),
  publicKeyJwk: z.strictObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url 32-byte key') }).nullable().optional(),
  tenantIds: z.array(z.string().regex(TENANT_ID)).min(1).max(1000),
  requireSignature: z.boolean(),
});

/** Data sources and learning-event ingestion (`/api/v1`). */
export function ingestionRoutes(ingestion: IngestionService, sources: SourceRegistry, registry: RegistryService) {
  return new Hono()
    .post('/sources', async (c) => {
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'registering a data source', 'sources');
      const body = await readJson(c, RegisterSource);
      return c.json(await sources.register(body, c.var.principal), 201);
    })
    .post('/tenants/:tenantId/events', async (c) => {
      const body = await readJson(c, EventBatchSchema);
      return c.json(await ingestion.ingest(c.req.param('tenantId'), body, c.var.principal));
    });
}
