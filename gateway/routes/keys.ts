import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { listKeys } from '../../control-plane/audit/audit-store';
import type { NodeKeyRotation } from '../../control-plane/keys/node-key-rotation';
import type { Signer } from '../../control-plane/ports/signer';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { readJson } from '../middleware/body';

/** An RFC 7638 thumbprint of an Ed25519 JWK: 43 base64url characters. */
export const KID = /^[A-Za-z0-9_-]{43}$/;

const Rotate = z.strictObject({
  kid: z.string().regex(KID, 'must be the 43-character key id of this node (GET /api/v1/keys/current)'),
  justification: z.string().trim().min(1).max(2000),
  unlockId: z.uuid().optional(),
});

/**
 * Public keys (no auth: verifiers need them): every key any node has signed
 * with, retired ones included, and the one this node signs with now.
 */
export function keysRoutes(db: Db, signer: Signer) {
  return new Hono()
    .get('/keys', async (c) => c.json({ keys: await listKeys(db) }))
    .get('/keys/current', (c) => c.json({ kid: signer.kid, alg: 'EdDSA', publicKeyJwk: signer.publicKeyJwk }));
}

/** POST /keys/rotate: ADMIN, with a `node-key.rotate` governance unlock for this node's current kid. */
export function keyRotationRoutes(rotation: NodeKeyRotation, registry: RegistryService) {
  return new Hono().post('/keys/rotate', async (c) => {
    await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'rotating the node signing key', 'node-key');
    const body = await readJson(c, Rotate);
    return c.json(await rotation.rotate(body, c.var.principal));
  });
}
