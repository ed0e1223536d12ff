import { Hono } from 'hono';
import { z } from 'zod';
import { ForbiddenError } from '../../actors/errors';
import { ROLES } from '../../db/schema/enums';
import type { IdentityService } from '../../control-plane/identity/identity-service';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { readJson } from '../middleware/body';

const CreateUser = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must match ^[a-z0-9][a-z0-9._-]{0,62}$'),
  role: z.enum(ROLES),
  /** Days until the first token expires (default 90). */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

/** Operators and their tokens (ADMIN). */
export function userRoutes(identity: IdentityService, registry: RegistryService) {
  const adminOnly = (c: { var: { principal: Parameters<RegistryService['requireRoleAudited']>[0] } }, what: string, subject: string) =>
    registry.requireRoleAudited(c.var.principal, 'ADMIN', what, subject);
  return new Hono()
    .post('/users', async (c) => {
      await adminOnly(c, 'creating a user', 'users');
      const body = await readJson(c, CreateUser);
      return c.json(await identity.createUser(body.name, body.role, c.var.principal, body.expiresInDays), 201);
    })
    .get('/users', async (c) => {
      await adminOnly(c, 'listing users', 'users');
      return c.json({ items: await identity.listUsers() });
    })
    .delete('/users/:name/tokens/:tokenId', async (c) => {
      const name = c.req.param('name');
      if (c.var.principal.name !== name) await adminOnly(c, 'revoking another user’s token', `user:${name}`);
      if (c.var.principal.kind !== 'user') throw new ForbiddenError('only operators revoke tokens');
      await identity.revokeToken(name, c.req.param('tokenId'), c.var.principal);
      return c.json({ revoked: true, name, tokenId: c.req.param('tokenId') });
    });
}
