import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import { AlreadyExistsError, NotFoundError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { alerts } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { isUuid } from '../registry/ids';

/** The JSON shape of an alert. */
export function alertDto(r: typeof alerts.$inferSelect) {
  return {
    id: r.id,
    tenantId: r.tenantId,
    severity: r.severity,
    kind: r.kind,
    message: r.message,
    details: r.details,
    createdAt: r.createdAt.toISOString(),
    ackedAt: r.ackedAt?.toISOString() ?? null,
    ackedBy: r.ackedBy,
    label: r.label,
    note: r.note,
  };
}
export type AlertDto = ReturnType<typeof alertDto>;

/** Alerts as operators see them: listed, acknowledged, labelled right or wrong. */
export class AlertService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async list(opts: { tenantId?: string; open?: boolean; before?: string; limit: number }): Promise<{ items: AlertDto[]; next?: string }> {
    const rows = await this.db
      .select()
      .from(alerts)
      .where(
        and(
          opts.tenantId ? eq(alerts.tenantId, opts.tenantId as TenantId) : undefined,
          opts.open ? isNull(alerts.ackedAt) : undefined,
          opts.before ? lt(alerts.createdAt, new Date(opts.before)) : undefined,
        ),
      )
      .orderBy(desc(alerts.createdAt))
      .limit(opts.limit + 1);
    const items = rows.slice(0, opts.limit).map(alertDto);
    return rows.length > opts.limit ? { items, next: items[items.length - 1]!.createdAt } : { items };
  }

  /** Acknowledges an alert once, with the operator's label; audited. */
  async acknowledge(id: string, input: { label?: 'true_positive' | 'false_positive'; note?: string }, by: Principal): Promise<AlertDto> {
    if (!isUuid(id)) throw new NotFoundError(`no alert ${id}`);
    const now = this.clock.now();
    const row = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const [updated] = await tx
        .update(alerts)
        .set({ ackedAt: now, ackedBy: actorOf(by), label: input.label ?? null, note: input.note ?? null })
        .where(and(eq(alerts.id, id), isNull(alerts.ackedAt)))
        .returning();
      if (!updated) return null;
      await this.audit.append(tx, { actor: actorOf(by), action: 'alert.acknowledged', subject: `alert:${id}`, payload: { tenantId: updated.tenantId, kind: updated.kind, severity: updated.severity, label: input.label ?? null, note: input.note ?? null } });
      return updated;
    });
    if (row) return alertDto(row);
    const [existing] = await this.db.select().from(alerts).where(eq(alerts.id, id));
    if (!existing) throw new NotFoundError(`no alert ${id}`);
    throw new AlreadyExistsError(`alert ${id} was already acknowledged by ${existing.ackedBy} at ${existing.ackedAt?.toISOString()}`);
  }
}
