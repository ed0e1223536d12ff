import { BadRequestError, ShareAlreadyReceivedError, UnlockExpiredError, UnlockNotOpenError } from '../errors';

/**
 * Governance-locked actions: none of them runs without an M-of-N committee
 * unlock whose governance signature covers exactly its action and params.
 * These are the actions that CAN be locked; which of them ARE locked is this
 * list by default, and changes only by the governance-locked
 * `governance.locked-actions.change` (see `lockedActionsList`). Params each
 * endpoint binds are named beside the action.
 */
export const GOVERNANCE_LOCKED_ACTIONS = [
  /** DELETE /tenants/:id/lock — params { tenantId } */
  'tenant.forensic-lock.lift',
  /** PUT /tenants/:id/stage to CONTROLLED_AUTONOMY — params { tenantId, stage: 'CONTROLLED_AUTONOMY' } */
  'tenant.stage.controlled-autonomy',
  /** PUT /tenants/:id/risk-matrix — params { tenantId, riskMatrix } */
  'tenant.risk-matrix.change',
  /** PUT /tenants/:id/drift/config touching rollbackRmse/rollbackBias — params { tenantId, thresholds } */
  'tenant.rollback-thresholds.change',
  /** PUT /oracle/exposure { stage: 'OPEN' } — params { stage: 'OPEN' } */
  'oracle.exposure.open',
  /** POST /tenants/:id/drift/baseline/reset — params { tenantId, days } */
  'baseline.reset',
  /** POST /keys/rotate — params { kid } (the key being replaced) */
  'node-key.rotate',
  /** PUT /governance/committee when one exists — params { committeeDigest } */
  'committee.change',
  /** PUT /governance/locked-actions — params { lockedActions } (sorted) */
  'governance.locked-actions.change',
] as const;
export type GovernanceAction = (typeof GOVERNANCE_LOCKED_ACTIONS)[number];

/** Whether `action` is one of the governance-locked actions. */
export function isGovernanceAction(action: string): action is GovernanceAction {
  return (GOVERNANCE_LOCKED_ACTIONS as readonly string[]).includes(action);
}

/** Never unlockable by a list change: otherwise one change could hand every action to a single ADMIN. */
export const ALWAYS_LOCKED: readonly GovernanceAction[] = ['committee.change', 'governance.locked-actions.change'];

/**
 * Validates a proposed list of locked actions and returns it in its one
 * canonical form (unique, sorted) — the form the committee signs.
 */
export function lockedActionsList(list: readonly string[]): GovernanceAction[] {
  const unknown = list.filter((a) => !isGovernanceAction(a));
  if (unknown.length > 0) throw new BadRequestError(`unknown governance actions: ${unknown.join(', ')}; the lockable ones are ${GOVERNANCE_LOCKED_ACTIONS.join(', ')}`);
  const missing = ALWAYS_LOCKED.filter((a) => !list.includes(a));
  if (missing.length > 0) throw new BadRequestError(`${missing.join(' and ')} must stay locked (they guard the committee and this list itself)`);
  return [...new Set(list as GovernanceAction[])].sort();
}

export const DEFAULT_UNLOCK_TTL_MS = 24 * 60 * 60 * 1000;

/** PENDING (collecting shares) → UNLOCKED (signed) → CONSUMED (the action ran). */
export type UnlockState = 'PENDING' | 'UNLOCKED' | 'CONSUMED';

export interface UnlockView {
  id: string;
  state: UnlockState;
  expiresAt: Date;
  threshold: number;
}

/** Refuses a share submission to a request that does not take shares now. */
export function assertOpenForShares(unlock: UnlockView, now: Date): void {
  if (unlock.state !== 'PENDING') throw new UnlockNotOpenError(`unlock ${unlock.id} is ${unlock.state}; it takes no more shares`);
  if (now.getTime() >= unlock.expiresAt.getTime()) throw new UnlockExpiredError(`unlock ${unlock.id} expired at ${unlock.expiresAt.toISOString()}`);
}

/**
 * Counts a member's submission against those already received for the
 * current nonce: a second one from the same member is refused and counts once.
 */
export function countSubmission(received: readonly string[], memberId: string, threshold: number): { count: number; reached: boolean } {
  if (received.includes(memberId)) throw new ShareAlreadyReceivedError(`member ${memberId} has already submitted a share for this request; it counts once`, { details: { memberId } });
  const count = new Set([...received, memberId]).size;
  return { count, reached: count >= threshold };
}

/** Whether an unlock may be used by the gate at `now`. */
export function usable(unlock: UnlockView, now: Date): 'ok' | 'pending' | 'consumed' | 'expired' {
  if (unlock.state === 'CONSUMED') return 'consumed';
  if (unlock.state === 'PENDING') return 'pending';
  return now.getTime() >= unlock.expiresAt.getTime() ? 'expired' : 'ok';
}
