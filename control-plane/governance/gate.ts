import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { governanceCommittees, governanceSettings, governanceUnlocks } from '../../db/schema';
import { GovernanceUnlockInvalidError, GovernanceUnlockRequiredError } from '../../actors/errors';
import { ALWAYS_LOCKED, GOVERNANCE_LOCKED_ACTIONS, isGovernanceAction, usable, type GovernanceAction } from '../../actors/governance/unlock';
import { actorOf, type Principal } from '../../actors/principal';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { isUuid } from '../registry/ids';
import { actionHash, actionSigningInput, verify } from './share-crypto';

/**
 * The one check every governance-locked endpoint calls, inside the
 * transaction that performs the action: the unlock must carry a governance
 * signature, verified here against the committee's PUBLIC key, over exactly
 * this action and these params; it is then consumed in the same transaction
 * (single use, also enforced by a trigger), so a failed action does not burn it.
 */
export interface GovernanceGate {
  /**
   * `unlockId: null` when the action is not locked now (taken off the list by
   * a governance-signed change): the endpoint's role checks alone apply and
   * an unlock passed anyway is left unspent.
   */
  requireUnlock(tx: Db, action: GovernanceAction, params: Record<string, unknown>, unlockId: string | undefined, by: Principal): Promise<{ unlockId: string | null }>;
}

/** The locked actions now: the stored list, or every lockable action by default. */
export async function currentLockedActions(db: Db): Promise<{ lockedActions: GovernanceAction[]; changedBy: string | null; changedAt: Date | null; unlockId: string | null }> {
  const [row] = await db.select().from(governanceSettings).where(eq(governanceSettings.id, 1)).limit(1);
  if (!row) return { lockedActions: [...GOVERNANCE_LOCKED_ACTIONS], changedBy: null, changedAt: null, unlockId: null };
  return { lockedActions: row.lockedActions.filter(isGovernanceAction), changedBy: row.changedBy, changedAt: row.changedAt, unlockId: row.unlockId };
}

export const INIT_HINT = 'run `npx tollgate committee init --members members.json --threshold 5` to create the committee';

/**
 * Runs a governed change in one transaction; when the gate refuses, the
 * transaction is rolled back and the refusal audited on its own afterwards.
 */
export async function runGoverned<T>(db: Db, audit: AuditLog, by: Principal, fn: (tx: Db) => Promise<T>): Promise<T> {
  try {
    return await db.transaction((tx) => fn(tx as unknown as Db));
  } catch (err) {
    if (err instanceof GovernanceUnlockRequiredError || err instanceof GovernanceUnlockInvalidError) {
      const d = err.details ?? {};
      await audit.append(db, {
        actor: actorOf(by),
        action: 'governance.gate.refused',
        subject: `action:${String(d.action)}`,
        payload: { action: d.action ?? null, unlockId: d.unlockId ?? null, code: err.code, reason: err.message },
      });
    }
    throw err;
  }
}

/** The gate over the database (call it through runGoverned so refusals are audited). */
export function databaseGate(clock: Clock, audit: AuditLog): GovernanceGate {
  return {
    async requireUnlock(tx, action, params, unlockId, by) {
      if (!ALWAYS_LOCKED.includes(action) && !(await currentLockedActions(tx)).lockedActions.includes(action)) return { unlockId: null };
      const [committee] = await tx.select().from(governanceCommittees).where(eq(governanceCommittees.active, true)).limit(1);
      if (!committee) {
        throw new GovernanceUnlockRequiredError(`${action} is governance-locked and no committee exists yet: ${INIT_HINT}`, { details: { action, unlockId: unlockId ?? null } });
      }
      if (!unlockId) {
        throw new GovernanceUnlockRequiredError(
          `${action} is governance-locked: propose it (POST /api/v1/governance/unlocks { action, params, justification }), have ${committee.threshold} committee members sign it (tollgate committee sign-share), then retry with unlockId`,
          { details: { action, params, unlockId: null, threshold: committee.threshold } },
        );
      }
      const invalid = (why: string): never => {
        throw new GovernanceUnlockInvalidError(`unlock ${unlockId} does not authorise ${action}: ${why}`, { details: { action, unlockId } });
      };
      if (!isUuid(unlockId)) return invalid('no such unlock');
      const [unlock] = await tx.select().from(governanceUnlocks).where(eq(governanceUnlocks.id, unlockId)).for('update').limit(1);
      if (!unlock) return invalid('no such unlock');
      const expected = actionHash(action, params);
      if (unlock.action !== action || unlock.actionHash !== expected || actionHash(unlock.action, unlock.params) !== expected) {
        return invalid('it was granted for another action or other params');
      }
      if (unlock.committeeId !== committee.id) return invalid('it was signed by a committee that has since been replaced');
      const state = usable({ id: unlock.id, state: unlock.state, expiresAt: unlock.expiresAt, threshold: committee.threshold }, clock.now());
      if (state === 'pending') return invalid('the committee has not reached its threshold yet');
      if (state === 'consumed') return invalid('it has already been used');
      if (state === 'expired') return invalid(`it expired at ${unlock.expiresAt.toISOString()}`);
      const signed = actionSigningInput({ action, params, actionHash: expected, nonce: unlock.nonce });
      if (!unlock.signature || !verify(unlock.signature, signed, committee.publicKey)) {
        return invalid('its governance signature does not verify against the committee public key');
      }
      const consumed = await tx
        .update(governanceUnlocks)
        .set({ state: 'CONSUMED', consumedAt: clock.now(), consumedBy: by.name })
        .where(and(eq(governanceUnlocks.id, unlock.id), eq(governanceUnlocks.state, 'UNLOCKED')))
        .returning({ id: governanceUnlocks.id });
      if (consumed.length !== 1) return invalid('it has already been used');
      await audit.append(tx, { actor: actorOf(by), action: 'governance.unlock.consumed', subject: `unlock:${unlock.id}`, payload: { unlockId: unlock.id, action, actionHash: expected } });
      return { unlockId: unlock.id };
    },
  };
}
