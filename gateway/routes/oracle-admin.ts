import { Hono } from 'hono';
import { z } from 'zod';
import { EXPOSURE_STAGES } from '../../actors/oracle/exposure';
import type { ExposureService } from '../../control-plane/oracle/exposure-service';
import type { PartnerRegistry } from '../../control-plane/oracle/partners';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { readStrictJson, wireBodyLimit } from '../middleware/wire-body';

const b64url = (bytes: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`), `must be a base64url ${bytes}-byte value`);

const RegisterPartner = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must match ^[a-z0-9][a-z0-9._-]{0,62}$'),
  publicKeyJwk: z.discriminatedUnion('kty', [
    z.strictObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: b64url(32) }),
    z.strictObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: b64url(32), y: b64url(32) }),
  ]),
  internal: z.boolean().optional(),
  rateLimitPerSecond: z.number().int().min(1).max(100_000).optional(),
  /** The `aud` values the partner's tokens may carry (absent: this oracle's audience only). */
  audiences: z
    .array(z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1–200 printable ASCII characters without spaces'))
    .min(1)
    .max(16)
    .refine((a) => new Set(a).size === a.length, 'audiences must not repeat')
    .optional(),
});

const SetExposure = z.strictObject({
  stage: z.enum(EXPOSURE_STAGES),
  reason: z.string().min(1).max(500).optional(),
  /** A governance unlock for OPEN. */
  unlockId: z.string().min(1).max(200).optional(),
});

const MAX_ADMIN_BODY = 64 * 1024;

/** Partners and the oracle's exposure stage (`/api/v1`, operators; ADMIN to change). */
export function oracleAdminRoutes(partners: PartnerRegistry, exposure: ExposureService, registry: RegistryService) {
  return new Hono()
    .use('/partners', wireBodyLimit(MAX_ADMIN_BODY))
    .use('/oracle/exposure', wireBodyLimit(MAX_ADMIN_BODY))
    .post('/partners', async (c) => {
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'registering an oracle partner', 'partners');
      const body = readStrictJson(c, RegisterPartner);
      return c.json(await partners.register(body, c.var.principal), 201);
    })
    .get('/partners', async (c) => {
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'listing oracle partners', 'partners');
      return c.json({ items: await partners.list() });
    })
    .get('/oracle/exposure', async (c) => {
      await exposure.load();
      return c.json(exposure.current());
    })
    .put('/oracle/exposure', async (c) => {
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'changing the oracle exposure', 'oracle:exposure');
      const body = readStrictJson(c, SetExposure);
      return c.json(await exposure.set(body.stage, c.var.principal, body.reason ?? 'set by an ADMIN', body.unlockId));
    });
}
