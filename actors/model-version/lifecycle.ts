import { ForbiddenError, IllegalTransitionError } from '../errors';
import type { ModelState, Role, TenantStage } from '../../db/schema/enums';

/**
 * The model-version lifecycle as data: for each state, the states it may move
 * to and the named guards each move must pass. Every pair not listed is
 * illegal. Pure: no I/O, no clock.
 */
export type GuardName =
  | 'hasOwner'
  | 'hasArtifact'
  | 'canaryPassed'
  | 'championApproval'
  | 'rollbackOnly'
  | 'supersededOnly'
  | 'adminDecision';

export const TERMINAL_STATES: readonly ModelState[] = ['FAILED', 'ROLLED_BACK'];

export const TRANSITIONS: Readonly<Record<ModelState, Readonly<Partial<Record<ModelState, readonly GuardName[]>>>>> = {
  DRAFT: { TRAINING: ['hasOwner'], QUARANTINED: [] },
  TRAINING: { VALIDATED: ['hasArtifact'], FAILED: [], QUARANTINED: [] },
  VALIDATED: { SHADOW: [], FAILED: [], QUARANTINED: [] },
  SHADOW: { CANARY: [], FAILED: [], QUARANTINED: [] },
  CANARY: { CHAMPION: ['hasOwner', 'hasArtifact', 'canaryPassed', 'championApproval'], FAILED: [], QUARANTINED: [] },
  CHAMPION: { DEPRECATED: ['supersededOnly'], ROLLED_BACK: ['rollbackOnly'], QUARANTINED: [] },
  DEPRECATED: { CHAMPION: ['rollbackOnly'], QUARANTINED: [] },
  QUARANTINED: { VALIDATED: ['adminDecision'], FAILED: ['adminDecision'] },
  FAILED: {},
  ROLLED_BACK: {},
};

/** What the guards may look at; gathered by the caller, never fetched here. */
export interface TransitionContext {
  model: {
    state: ModelState;
    owner: string | null;
    artifactSha256: string | null;
    canaryVerdict: string | null;
  };
  tenantStage: TenantStage;
  actorRole: Role;
  /** Latest decision per approver on this version, newest last. */
  approvals: ReadonlyArray<{ approver: string; role: Role; decision: 'approve' | 'reject' }>;
  /** Set only by the tenant rollback command. */
  rollback?: boolean;
  /** Set only when another version is being promoted over this champion. */
  superseded?: boolean;
}

export function isLegalPair(from: ModelState, to: ModelState): boolean {
  return TRANSITIONS[from][to] !== undefined;
}

export function allowedTargets(from: ModelState): ModelState[] {
  return Object.keys(TRANSITIONS[from]) as ModelState[];
}

const ROLE_RANK: Record<Role, number> = { AGRONOMIST: 0, MANAGER: 1, ADMIN: 2 };

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

type Refusal = { kind: 'illegal' | 'forbidden'; message: string };
type GuardCheck = (ctx: TransitionContext, to: ModelState) => Refusal | null;
const illegal = (message: string): Refusal => ({ kind: 'illegal', message });
const forbidden = (message: string): Refusal => ({ kind: 'forbidden', message });

const GUARDS: Record<GuardName, GuardCheck> = {
  hasOwner: (ctx) =>
    ctx.model.owner ? null : illegal('the model version has no owner; set one before it leaves DRAFT'),
  hasArtifact: (ctx) =>
    ctx.model.artifactSha256 ? null : illegal('the model version has no signed artifact (artifactSha256)'),
  canaryPassed: (ctx) =>
    ctx.model.canaryVerdict === 'PASSED'
      ? null
      : illegal(
          `promotion to CHAMPION needs canary evidence that passed (verdict: ${ctx.model.canaryVerdict ?? 'none'})`,
        ),
  championApproval: (ctx) => {
    if (ctx.tenantStage === 'CONTROLLED_AUTONOMY') return null; // the risk matrix decides; canaryPassed already holds
    const latest = new Map<string, 'approve' | 'reject'>();
    for (const a of ctx.approvals) if (roleAtLeast(a.role, 'MANAGER')) latest.set(a.approver, a.decision);
    const decisions = [...latest.values()];
    if (decisions.includes('reject')) return forbidden('a manager rejected this version; promotion is blocked');
    if (!decisions.includes('approve'))
      return forbidden(`promotion to CHAMPION in ${ctx.tenantStage} needs a named MANAGER approval`);
    return null;
  },
  rollbackOnly: (_ctx, to) =>
    _ctx.rollback ? null : illegal(`${to === 'CHAMPION' ? 'DEPRECATED → CHAMPION' : 'CHAMPION → ROLLED_BACK'} is legal only as a tenant rollback`),
  supersededOnly: (ctx) =>
    ctx.superseded ? null : illegal('a champion is deprecated only when another version is promoted over it'),
  adminDecision: (ctx) =>
    roleAtLeast(ctx.actorRole, 'ADMIN') ? null : forbidden('leaving QUARANTINED needs an ADMIN decision'),
};

/**
 * Decides whether `from → to` may happen in `ctx`. Returns nothing when it
 * may; throws IllegalTransitionError (409) or ForbiddenError (403) naming
 * the first guard that refused.
 */
export function decideTransition(to: ModelState, ctx: TransitionContext): void {
  const from = ctx.model.state;
  if (!roleAtLeast(ctx.actorRole, 'MANAGER')) {
    throw new ForbiddenError('changing a model version needs the MANAGER role', { details: { from, to } });
  }
  const guards = TRANSITIONS[from][to];
  if (guards === undefined) {
    const legal = allowedTargets(from);
    throw new IllegalTransitionError(
      `${from} → ${to} is not a legal transition` +
        (legal.length ? `; from ${from} a version may go to ${legal.join(', ')}` : `; ${from} is terminal`),
      { details: { from, to } },
    );
  }
  for (const guard of guards) {
    const refusal = GUARDS[guard](ctx, to);
    if (refusal) {
      const Err = refusal.kind === 'forbidden' ? ForbiddenError : IllegalTransitionError;
      throw new Err(refusal.message, { details: { from, to, guard } });
    }
  }
}
