import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { ModelVersionRow } from '../../db/schema';
import type { ModelState, ModelVersionId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import { canonicalJson } from '../audit/format';
import { modelDto, type ModelDto } from './dto';
import { RevisionConflictError } from '../../actors/errors';

/** Called after each compare-and-set that moved a version (metrics: transitions by from/to). */
export const transitionObservers = new Set<(from: ModelState, to: ModelState, row: ModelVersionRow) => void>();

/** The first canary wave's share of traffic, in percent (then 10, then 50). */
export const FIRST_WAVE_PERCENT = 1;

/** What a compare-and-set wrote: the answer, and the row version (`xmin`) it left. */
export interface Recorded {
  dto: ModelDto;
  /** The row as it now is in the database. */
  row: ModelVersionRow;
  /** Postgres's `xmin` of the row written: it changes with every update of the row, by anyone. */
  xmin: string;
}

/**
 * Extra conditions of a compare-and-set decided on a remembered row: the
 * row must still be that exact version (`xmin`, which any writer changes,
 * even one that leaves `revision` alone), and its tenant must not be under a
 * forensic lock.
 */
export interface RowGuard {
  xmin: string;
  tenantUnlocked: boolean;
}

/**
 * Compare-and-set and the transition record in one statement: the row
 * changes only if nobody else changed it, and the idempotency key is
 * recorded with the answer it gave, and the audit record is queued for the
 * sequencer: the whole change is one statement.
 */
export async function casAndRecord(
  tx: Db,
  audit: AuditLog,
  row: ModelVersionRow,
  to: ModelState,
  now: Date,
  record: { reason: string; actor: string; idempotencyKey: string; requestDigest: string; audit: Record<string, unknown> },
  expectedRevision = row.revision,
  previousStableId: ModelVersionId | null = row.previousStableId,
  guard?: RowGuard,
): Promise<Recorded> {
  // A version entering CANARY gets the first wave's traffic; leaving it, none.
  const canaryTrafficPercent = to === 'CANARY' ? (row.state === 'CANARY' ? row.canaryTrafficPercent : FIRST_WAVE_PERCENT) : 0;
  const after: ModelVersionRow = { ...row, state: to, revision: expectedRevision + 1, updatedAt: now, previousStableId, canaryTrafficPercent };
  const dto = modelDto(after);
  const result = await tx.execute(sql`
    with changed as (
      update model_versions
         set state = ${to}, revision = ${expectedRevision + 1}, updated_at = ${dto.updatedAt}::timestamptz,
             canary_traffic_percent = ${canaryTrafficPercent},
             previous_stable_id = ${previousStableId}::uuid
       where id = ${row.id}::uuid and revision = ${expectedRevision} and state = ${row.state}
         ${guard ? sql`and xmin = ${guard.xmin}::xid` : sql``}
         ${guard?.tenantUnlocked ? sql`and not exists (select 1 from tenants t where t.id = model_versions.tenant_id and t.forensic_lock)` : sql``}
      returning id, xmin::text as xmin
    ), recorded as (
      insert into transitions (model_version_id, from_state, to_state, reason, actor, idempotency_key, request_digest, revision_after, result, at)
      select id, ${row.state}, ${to}, ${record.reason}, ${record.actor}, ${record.idempotencyKey}, ${record.requestDigest},
             ${expectedRevision + 1}, ${JSON.stringify(dto)}::jsonb, ${dto.updatedAt}::timestamptz
        from changed
      returning 1
    )
    , queued as (
      insert into audit_queue (at, actor, action, subject, payload)
      select ${dto.updatedAt}, ${record.actor}, 'model.transitioned', ${`model:${row.id}`}, ${canonicalJson(record.audit)}::jsonb
        from changed
      returning 1
    )
    select xmin from changed`);
  const changed = rowsOf<{ xmin: string }>(result);
  if (changed.length !== 1) throw staleRevision(row.id, expectedRevision);
  for (const observe of transitionObservers) observe(row.state, to, row);
  audit.kick();
  return { dto, row: after, xmin: changed[0]!.xmin };
}

export function staleRevision(id: string, expected: number, actual?: number): RevisionConflictError {
  return new RevisionConflictError(
    `model version ${id} is at revision ${actual ?? 'a newer revision'}, not ${expected}; reload it and retry`,
    { details: { expectedRevision: expected, ...(actual !== undefined ? { actualRevision: actual } : {}) } },
  );
}
