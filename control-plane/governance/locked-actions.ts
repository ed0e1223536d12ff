import { ALWAYS_LOCKED, GOVERNANCE_LOCKED_ACTIONS, lockedActionsList, type GovernanceAction } from '../../actors/governance/unlock';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { governanceSettings } from '../../db/schema';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { currentLockedActions, runGoverned, type GovernanceGate } from './gate';

export interface LockedActionsDto {
  lockedActions: GovernanceAction[];
  /** Lockable actions not locked now (their endpoints need only the role). */
  unlocked: GovernanceAction[];
  alwaysLocked: readonly GovernanceAction[];
  /** Null while the default list applies. */
  changedBy: string | null;
  changedAt: string | null;
  unlockId: string | null;
}

/**
 * The list of governance-locked actions: every lockable action by default;
 * changed only with a `governance.locked-actions.change` unlock whose params
 * are exactly the new list in canonical form (sorted, unique).
 */
export class LockedActionsService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly gate: GovernanceGate,
  ) {}

  async get(db: Db = this.db): Promise<LockedActionsDto> {
    const now = await currentLockedActions(db);
    return {
      lockedActions: now.lockedActions,
      unlocked: GOVERNANCE_LOCKED_ACTIONS.filter((a) => !now.lockedActions.includes(a)),
      alwaysLocked: ALWAYS_LOCKED,
      changedBy: now.changedBy,
      changedAt: now.changedAt?.toISOString() ?? null,
      unlockId: now.unlockId,
    };
  }

  async change(input: { lockedActions: string[]; justification: string; unlockId?: string | undefined }, by: Principal): Promise<LockedActionsDto> {
    const next = lockedActionsList(input.lockedActions);
    return runGoverned(this.db, this.audit, by, async (tx) => {
      const { unlockId } = await this.gate.requireUnlock(tx, 'governance.locked-actions.change', { lockedActions: next }, input.unlockId, by);
      const before = await currentLockedActions(tx);
      const row = { lockedActions: next, changedBy: by.name, unlockId: unlockId!, changedAt: this.clock.now() };
      await tx.insert(governanceSettings).values({ id: 1, ...row }).onConflictDoUpdate({ target: governanceSettings.id, set: row });
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'governance.locked-actions.changed',
        subject: 'governance:locked-actions',
        payload: {
          from: before.lockedActions,
          to: next,
          added: next.filter((a) => !before.lockedActions.includes(a)),
          removed: before.lockedActions.filter((a) => !next.includes(a)),
          justification: input.justification,
          unlockId,
        },
      });
      return this.get(tx);
    });
  }
}
