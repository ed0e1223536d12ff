import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import { alertDeliveries, alerts } from '../../db/schema';
import { ALERT_SEVERITIES } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import { encodeJson } from '../actor-host/protocol';
import type { Clock } from '../ports/clock';
import type { DurableStreams } from '../ports/stream';
import type { AlertRoutingConfig } from './alert-config';
import { channelAt, SEVERITY_POLICY, slaDeadline } from './alert-policy';

const BATCH = 500;

export interface EscalationDeps {
  db: Db;
  audit: AuditLog;
  streams: DurableStreams;
  clock: Clock;
  log: Logger;
  prefix: string;
  config: AlertRoutingConfig;
  registry?: Registry;
}

/**
 * Escalates alerts nobody acknowledged within their SLA to the next channel
 * (ticket → chat → call + SMS → the escalation webhook, when configured):
 * once per level (a compare-and-set on the level), audited as
 * `alert.escalated`, and delivered through the alerts stream like the alert
 * itself. A periodic sweep on the injected clock drives it.
 */
export class AlertEscalator {
  readonly #escalations: Counter<'severity'> | null;
  #cancel: (() => void) | null = null;
  #running: Promise<number> | null = null;
  #stopped = false;

  constructor(private readonly deps: EscalationDeps) {
    this.#escalations = deps.registry
      ? new Counter({ name: 'tollgate_alert_escalations_total', help: 'Alerts escalated past their acknowledgement SLA, by original severity', labelNames: ['severity'] as const, registers: [deps.registry] })
      : null;
  }

  /** Arms the periodic sweep. */
  start(): void {
    this.#stopped = false;
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = null;
    await this.#running?.catch(() => undefined);
  }

  /** One pass: escalates every overdue open alert by one level; returns how many. */
  async sweep(): Promise<number> {
    if (this.#running) return this.#running;
    this.#running = this.#sweep().finally(() => (this.#running = null));
    return this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#cancel = this.deps.clock.setTimer(new Date(this.deps.clock.now().getTime() + this.deps.config.sweepMs), () => {
      // The next one is armed first: a slow or failing sweep never stops the schedule (a sweep still running is joined).
      this.#arm();
      void this.sweep().catch((err: unknown) => this.deps.log.warn({ err }, 'alert escalation sweep failed; retrying at the next one'));
    });
  }

  async #sweep(): Promise<number> {
    const { db, clock } = this.deps;
    // Read the time after the timer callbacks of this tick: a clock jumped forward fires many at once.
    await Promise.resolve();
    const now = clock.now();
    let escalated = 0;
    for (const severity of ALERT_SEVERITIES) {
      const overdueSince = new Date(now.getTime() - SEVERITY_POLICY[severity].ackSlaMs);
      const rows = await db
        .select()
        .from(alerts)
        .where(and(eq(alerts.severity, severity), isNull(alerts.ackedAt), sql`coalesce(${alerts.escalatedAt}, ${alerts.createdAt}) < ${overdueSince.toISOString()}::timestamptz`))
        .limit(BATCH);
      for (const row of rows) if (await this.#escalate(row, now)) escalated++;
    }
    await this.#republishLost();
    return escalated;
  }

  async #escalate(row: typeof alerts.$inferSelect, now: Date): Promise<boolean> {
    const { db, audit, config } = this.deps;
    const from = row.escalationLevel;
    const to = from + 1;
    const channel = channelAt(row.severity, to);
    if (!channel || (channel === 'escalation' && !config.webhooks.escalation)) return false; // nowhere higher to go
    const deadline = slaDeadline(row.severity, row.createdAt, row.escalatedAt);
    const done = await db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const [updated] = await tx
        .update(alerts)
        .set({ escalationLevel: to, escalatedAt: now })
        .where(and(eq(alerts.id, row.id), eq(alerts.escalationLevel, from), isNull(alerts.ackedAt)))
        .returning({ id: alerts.id });
      if (!updated) return false; // acknowledged or escalated meanwhile
      await audit.append(tx, {
        actor: 'system:alert-escalation',
        action: 'alert.escalated',
        subject: `alert:${row.id}`,
        payload: { tenantId: row.tenantId, severity: row.severity, kind: row.kind, fromLevel: from, toLevel: to, channel, missedDeadline: deadline.toISOString() },
      });
      return true;
    });
    if (!done) return false;
    this.#escalations?.inc({ severity: row.severity });
    this.deps.log.warn({ alertId: row.id, tenantId: row.tenantId, severity: row.severity, channel, level: to }, 'alert not acknowledged within its SLA; escalated');
    await this.#publish(row, to);
    return true;
  }

  /** An escalation committed but not published (a crash in between) is published again; the stream de-duplicates. */
  async #republishLost(): Promise<void> {
    const lost = await this.deps.db
      .select({ id: alerts.id, tenantId: alerts.tenantId, severity: alerts.severity, escalationLevel: alerts.escalationLevel })
      .from(alerts)
      .leftJoin(alertDeliveries, and(eq(alertDeliveries.alertId, alerts.id), eq(alertDeliveries.level, alerts.escalationLevel)))
      .where(and(isNull(alerts.ackedAt), gt(alerts.escalationLevel, 0), isNull(alertDeliveries.alertId)))
      .limit(BATCH);
    for (const row of lost) await this.#publish(row, row.escalationLevel);
  }

  async #publish(row: { id: string; tenantId: string | null; severity: string }, level: number): Promise<void> {
    await this.deps.streams.publish(
      `${this.deps.prefix}.alert.${row.tenantId ?? '_system'}.${row.severity}`,
      encodeJson({ escalation: { alertId: row.id, level } }),
      `alert-escalation:${row.id}:${level}`,
    );
  }
}
