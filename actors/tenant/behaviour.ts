import { z } from 'zod';
import { TENANT_STAGES } from '../../db/schema/enums';
import type { Behaviour } from '../actor';
import { parseWith, PrincipalSchema, V } from '../messages';

const TenantCommand = z.discriminatedUnion('type', [
  z.strictObject({ ...V, type: z.literal('create'), by: PrincipalSchema, name: z.string(), stage: z.enum(TENANT_STAGES).optional() }),
  z.strictObject({
    ...V,
    type: z.literal('registerModel'),
    by: PrincipalSchema,
    label: z.string(),
    owner: z.string().nullable().optional(),
    featureSignature: z.string(),
    artifactSha256: z.string().nullable().optional(),
    parentId: z.string().nullable().optional(),
  }),
]);
export type TenantCommand = z.infer<typeof TenantCommand>;

/** Tenant actor state; the drift window joins it in a later issue. */
export type TenantState = Record<string, never>;

/**
 * The tenant actor: the one mailbox through which a tenant's registry
 * commands pass. The registry port does the transactional work.
 */
export const tenantBehaviour: Behaviour<TenantState, TenantCommand> = {
  kind: 'tenant',
  initial: () => ({}),
  parse: (raw) => parseWith(TenantCommand, raw),
  step(state, msg, ctx) {
    const { type, v: _v, by, ...input } = msg;
    const op = type === 'create' ? 'createTenant' : 'createModel';
    return { state, effects: [{ kind: 'call', port: 'registry', op, args: { tenantId: ctx.id, by, input }, reply: true }] };
  },
};
