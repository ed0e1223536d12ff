import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import type { RegistryService } from '../registry/registry-service';
import { CommitteeStore } from './committee-store';
import { databaseGate, type GovernanceGate } from './gate';
import { LockedActionsService } from './locked-actions';
import { TenantControls } from './tenant-controls';
import { UnlockService, type UnlockDto } from './unlock-service';

export { GOVERNANCE_LOCKED_ACTIONS, type GovernanceAction } from '../../actors/governance/unlock';
export { runGoverned, type GovernanceGate } from './gate';

/** Subject of a request's progress events: `<prefix>.gov.unlock.<id>`. */
export const unlockSubject = (prefix: string, id: string) => `${prefix}.gov.unlock.${id}`;

/** The governance services one node runs; `gate` is what other locked endpoints call. */
export interface Governance {
  gate: GovernanceGate;
  committees: CommitteeStore;
  unlocks: UnlockService;
  controls: TenantControls;
  lockedActions: LockedActionsService;
}

/** Wires the governance services over one database. */
export function buildGovernance(
  db: Db,
  audit: AuditLog,
  clock: Clock,
  registry: RegistryService,
  log?: Logger,
  onUnlockChange?: (unlock: UnlockDto) => void,
  onTenantEvent?: (tenantId: string, type: string, data: unknown) => void,
): Governance {
  const gate = databaseGate(clock, audit);
  return {
    gate,
    committees: new CommitteeStore(db, audit, clock, gate),
    unlocks: new UnlockService(db, audit, clock, registry, log, onUnlockChange),
    controls: new TenantControls(db, audit, clock, registry, gate, onTenantEvent),
    lockedActions: new LockedActionsService(db, audit, clock, gate),
  };
}
