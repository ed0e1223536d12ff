import { z } from 'zod';
import { MODEL_STATES, TENANT_STAGES } from '../../db/schema/enums';
import type { Behaviour, Effect } from '../actor';
import { ForbiddenError, IllegalTransitionError } from '../errors';
import { parseWith, PrincipalSchema, V } from '../messages';
import { actorOf } from '../principal';
import type { RolloutInput } from '../gates/engine';
import { roleAtLeast } from './lifecycle';
import { advancePromotion, measureRequest, promotionConfigFor, measureTimer, promotionView, startPromotion, type Measurement, type PromotionState } from './promotion';

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
  /** The version entered SHADOW: its promotion starts (idempotent). */
  z.strictObject({
    ...V,
    type: z.literal('startPromotion'),
    tenantId: z.string(),
    tenantStage: z.enum(TENANT_STAGES),
    rolloutPolicy: z.object({ waves: z.array(z.number()).optional(), shadowCycles: z.number().optional() }).optional(),
    riskMatrix: z.object({ maxTrafficPercent: z.number().optional(), maxRelativeMaeDelta: z.number().optional(), minSamplesPerArm: z.number().optional(), minDaysBetweenPromotions: z.number().optional() }).optional(),
  }),
  /** The measurement timer. */
  z.strictObject({ ...V, type: z.literal('measure') }),
  /** A measurement, back from the promotion port. */
  z.strictObject({ ...V, type: z.literal('measured'), stage: z.string(), at: z.string(), values: z.record(z.string(), z.number()), guardState: z.unknown(), evidence: z.unknown() }),
  /** The kill switch, or a person resuming a held promotion. */
  z.strictObject({ ...V, type: z.literal('killPromotion'), by: PrincipalSchema, reason: z.string() }),
  z.strictObject({ ...V, type: z.literal('resumePromotion'), by: PrincipalSchema, reason: z.string() }),
  z.strictObject({ ...V, type: z.literal('promotionStatus') }),
]);
export type ModelCommand = z.infer<typeof ModelCommand>;

export interface ModelActorState {
  promotion: PromotionState | null;
}

function normalize(s: Partial<ModelActorState> | undefined): ModelActorState {
  return { promotion: s?.promotion ?? null };
}

/**
 * The model-version actor: serializes the commands of one version (the
 * registry port does the lifecycle decision and the compare-and-set in one
 * transaction) and drives its promotion on the gate engine.
 */
export const modelVersionBehaviour: Behaviour<ModelActorState, ModelCommand> = {
  kind: 'model',
  initial: () => ({ promotion: null }),
  parse: (raw) => parseWith(ModelCommand, raw),
  step(raw, msg, ctx) {
    const state = normalize(raw);
    const { promotion } = state;
    switch (msg.type) {
      case 'transition':
      case 'setCanaryTraffic': {
        const { type, v: _v, by, ...input } = msg;
        return { state: raw, effects: [{ kind: 'call', port: 'registry', op: type, args: { modelId: ctx.id, by, input }, reply: true }] };
      }
      case 'approve': {
        const { v: _v, by, decision, justification } = msg;
        const record: Effect = { kind: 'call', port: 'registry', op: 'recordApproval', args: { modelId: ctx.id, by, input: { decision, justification } }, reply: true };
        // The approval a promotion waits for: the registry records it first, then the rollout moves.
        if (!promotion || promotion.rollout.status !== 'awaiting_approval' || !roleAtLeast(by.role, 'MANAGER')) return { state: raw, effects: [record] };
        const input: RolloutInput = { type: decision, at: ctx.now.toISOString(), by: actorOf(by), justification };
        const next = advancePromotion(promotion, ctx.id, [input]);
        return { state: { promotion: next.promotion }, effects: [record, ...next.effects] };
      }
      case 'startPromotion': {
        if (promotion) return { state: raw, reply: promotionView(promotion) };
        const started = startPromotion(msg.tenantId, msg.tenantStage, ctx.now, promotionConfigFor(msg.tenantStage, msg.rolloutPolicy, msg.riskMatrix));
        return { state: { promotion: started }, effects: [measureTimer(started, ctx.now)], reply: promotionView(started) };
      }
      case 'measure': {
        if (!promotion || !['running', 'awaiting_approval'].includes(promotion.rollout.status)) return { state: raw };
        return {
          state: raw,
          effects: [
            { kind: 'call', port: 'promotion', op: 'measure', args: measureRequest(promotion, ctx.id, ctx.now) },
            measureTimer(promotion, ctx.now),
          ],
        };
      }
      case 'measured': {
        if (!promotion) return { state: raw };
        const stage = promotion.spec.stages[promotion.rollout.stageIndex]!;
        // A measurement of an earlier stage (the stage moved meanwhile) is stale.
        if (msg.stage !== stage.id) return { state: raw };
        const withEvidence: PromotionState = { ...promotion, guardState: msg.guardState ?? null, lastEvidence: msg.evidence ?? null };
        const next = advancePromotion(withEvidence, ctx.id, [
          { type: 'sample', at: msg.at, values: msg.values as Record<keyof Measurement, number> },
          { type: 'evaluate', at: ctx.now.toISOString() },
        ]);
        return { state: { promotion: next.promotion }, effects: next.effects };
      }
      case 'killPromotion':
      case 'resumePromotion': {
        if (!roleAtLeast(msg.by.role, 'MANAGER')) {
          return { state: raw, refusal: new ForbiddenError(`${msg.type === 'killPromotion' ? 'the kill switch' : 'resuming a promotion'} needs the MANAGER role; ${msg.by.name} is ${msg.by.role}`) };
        }
        if (!promotion) return { state: raw, refusal: new IllegalTransitionError(`model version ${ctx.id} has no promotion (it starts when the version enters SHADOW)`) };
        const input: RolloutInput =
          msg.type === 'killPromotion'
            ? { type: 'kill', at: ctx.now.toISOString(), by: actorOf(msg.by), reason: msg.reason }
            : { type: 'resume', at: ctx.now.toISOString(), by: actorOf(msg.by), reason: msg.reason };
        const next = advancePromotion(promotion, ctx.id, [input]);
        const effects = [...next.effects];
        if (msg.type === 'resumePromotion' && next.promotion.rollout.status === 'running') effects.push(measureTimer(next.promotion, ctx.now));
        return { state: { promotion: next.promotion }, effects, reply: promotionView(next.promotion) };
      }
      case 'promotionStatus':
        return { state: raw, reply: promotionView(promotion) };
    }
  },
};
