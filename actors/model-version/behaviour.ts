import { z } from 'zod';
import { MODEL_STATES } from '../../db/schema/enums';
import type { Behaviour } from '../actor';
import { parseWith, PrincipalSchema, V } from '../messages';

const ModelCommand = z.discriminatedUnion('type', [
  z.strictObject({
    ...V,
    type: z.literal('transition'),
    by: PrincipalSchema,
    to: z.enum(MODEL_STATES),
    reason: z.string(),
    idempotencyKey: z.string(),
    expectedRevision: z.number().int().min(0),
  }),
  z.strictObject({ ...V, type: z.literal('approve'), by: PrincipalSchema, decision: z.enum(['approve', 'reject']), justification: z.string() }),
  z.strictObject({ ...V, type: z.literal('setCanaryTraffic'), by: PrincipalSchema, percent: z.number().min(0).max(100), reason: z.string() }),
]);
export type ModelCommand = z.infer<typeof ModelCommand>;

export type ModelActorState = Record<string, never>;

/**
 * The model-version actor: serializes the commands of one version. The
 * lifecycle decision (lifecycle.ts) and the compare-and-set happen in the
 * registry port, inside one transaction.
 */
export const modelVersionBehaviour: Behaviour<ModelActorState, ModelCommand> = {
  kind: 'model',
  initial: () => ({}),
  parse: (raw) => parseWith(ModelCommand, raw),
  step(state, msg, ctx) {
    const { type, v: _v, by, ...input } = msg;
    const op = type === 'transition' ? 'transition' : type === 'approve' ? 'recordApproval' : 'setCanaryTraffic';
    return { state, effects: [{ kind: 'call', port: 'registry', op, args: { modelId: ctx.id, by, input }, reply: true }] };
  },
};
