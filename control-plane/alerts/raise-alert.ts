import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/client';
import { alerts } from '../../db/schema';
import type { AlertSeverity, TenantId } from '../../db/schema/enums';
import type { DurableStreams } from '../ports/stream';

export interface AlertInput {
  tenantId: string | null;
  severity: AlertSeverity;
  /** What happened, dotted: `drift.critical`, `canary.failed`, … */
  kind: string;
  message: string;
  details: Record<string, unknown>;
  /** Raising the same key again is a no-op (retries, redeliveries). */
  dedupeKey: string;
}

export interface RaisedAlert {
  id: string;
  /** False when an alert with this key already existed. */
  created: boolean;
  at: Date;
}

/**
 * Records an alert (the `alerts` table, de-duplicated by key) and puts it on
 * the durable alerts stream (`<prefix>.alert.<tenant>.<severity>`), from
 * which delivery to people's channels is routed.
 */
export async function raiseAlert(db: Db, streams: DurableStreams, prefix: string, input: AlertInput, now: Date): Promise<RaisedAlert> {
  const id = randomUUID();
  const inserted = await db
    .insert(alerts)
    .values({
      id,
      tenantId: input.tenantId as TenantId | null,
      severity: input.severity,
      kind: input.kind,
      dedupeKey: input.dedupeKey,
      message: input.message,
      details: input.details,
      createdAt: now,
    })
    .onConflictDoNothing({ target: alerts.dedupeKey })
    .returning({ id: alerts.id });
  const created = inserted.length === 1;
  // Published even when the row existed: the stream de-duplicates by key, and
  // a crash between the insert and the publish must not lose the alert.
  const payload = { id: inserted[0]?.id ?? null, ...input, at: now.toISOString() };
  await streams.publish(`${prefix}.alert.${input.tenantId ?? '_system'}.${input.severity}`, new TextEncoder().encode(JSON.stringify(payload)), `alert:${input.dedupeKey}`);
  return { id: inserted[0]?.id ?? '', created, at: now };
}
