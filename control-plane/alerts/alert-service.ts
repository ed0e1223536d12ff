import { and, asc, desc, eq, inArray, isNull, lt } from 'drizzle-orm';
import { AlreadyExistsError, NotFoundError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { alertDeliveries, alerts } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { isUuid } from '../registry/ids';
import { channelAt, slaDeadline } from './alert-policy';

type DeliveryRow = typeof alertDeliveries.$inferSelect;

/** A delivery as operators see it. */
function deliveryDto(d: DeliveryRow) {
  return {
    level: d.level,
    channel: d.channel,
    attempts: d.attempts,
    status: d.deliveredAt ? ('delivered' as const) : d.lastError && d.attempts === 0 ? ('not_sent' as const) : ('pending' as const),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
    lastError: d.lastError,
  };
}

/** The JSON shape of an alert, with its routing: channel, escalation level, SLA deadline, deliveries. */
export function alertDto(r: typeof alerts.$inferSelect, deliveries: DeliveryRow[] = []) {
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
    channel: channelAt(r.severity, r.escalationLevel),
    escalationLevel: r.escalationLevel,
    escalatedAt: r.escalatedAt?.toISOString() ?? null,
    /** When the current level must be acknowledged by (null once acknowledged). */
    slaDeadline: r.ackedAt ? null : slaDeadline(r.severity, r.createdAt, r.escalatedAt).toISOString(),
    deliveries: deliveries.map(deliveryDto),
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

  async #deliveriesOf(ids: string[]): Promise<Map<string, DeliveryRow[]>> {
    const out = new Map<string, DeliveryRow[]>();
    if (!ids.length) return out;
    const rows = await this.db.select().from(alertDeliveries).where(inArray(alertDeliveries.alertId, ids)).orderBy(asc(alertDeliveries.level));
    for (const d of rows) out.set(d.alertId, [...(out.get(d.alertId) ?? []), d]);
    return out;
  }

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
    const page = rows.slice(0, opts.limit);
    const deliveries = await this.#deliveriesOf(page.map((r) => r.id));
    const items = page.map((r) => alertDto(r, deliveries.get(r.id)));
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
    if (row) return alertDto(row, (await this.#deliveriesOf([row.id])).get(row.id));
    const [existing] = await this.db.select().from(alerts).where(eq(alerts.id, id));
    if (!existing) throw new NotFoundError(`no alert ${id}`);
    throw new AlreadyExistsError(`alert ${id} was already acknowledged by ${existing.ackedBy} at ${existing.ackedAt?.toISOString()}`);
  }
}
