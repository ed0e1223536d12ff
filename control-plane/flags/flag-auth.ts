/** Who may decide on a flag: role checks whose refusals are audited (`auth.refused`) before the 403. */
import { ForbiddenError } from '../../actors/errors';
import { roleAtLeast } from '../../actors/model-version/lifecycle';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import type { AuditLog } from '../audit/audit-store';

/** Audits the refusal, then throws the 403. */
export async function refuseAuth(db: Db, audit: AuditLog, by: Principal, what: string, subject: string, message: string): Promise<never> {
  await audit.append(db, { actor: actorOf(by), action: 'auth.refused', subject, payload: { role: by.role, what } });
  throw new ForbiddenError(message);
}

/** Passes when `by` has at least the `needed` role; otherwise an audited 403. */
export async function requireRole(db: Db, audit: AuditLog, by: Principal, needed: 'MANAGER' | 'ADMIN', what: string, subject: string): Promise<void> {
  if (roleAtLeast(by.role, needed)) return;
  await refuseAuth(db, audit, by, what, subject, `${what} needs the ${needed} role; ${by.name} is ${by.role}`);
}
