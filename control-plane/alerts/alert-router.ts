import { and, eq, isNull, sql } from 'drizzle-orm';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import { alertDeliveries, alerts } from '../../db/schema';
import { decodeJson } from '../actor-host/protocol';
import type { Clock } from '../ports/clock';
import type { Consumption, DurableStreams, StreamMsg } from '../ports/stream';
import { coreStreams } from '../streams/core-streams';
import type { AlertRoutingConfig } from './alert-config';
import { alertCloudEvent } from './alert-event';
import { CHANNEL_WEBHOOK, channelAt, retryDelayMs, slaDeadline } from './alert-policy';
import { postWebhook } from './webhook';

/** What the alerts stream carries: a raised alert (raise-alert.ts) or an escalation (escalation.ts). */
interface StreamedAlert {
  id?: string | null;
  dedupeKey?: string;
  escalation?: { alertId: string; level: number };
}

export interface AlertRouterMetrics {
  deliveries: Counter<'channel' | 'outcome'>;
}

/** Delivery counters on the process registry. */
export function alertRouterMetrics(registry: Registry): AlertRouterMetrics {
  return {
    deliveries: new Counter({
      name: 'tollgate_alert_deliveries_total',
      help: 'Alert webhook attempts by channel and outcome (delivered, failed, duplicate, unconfigured, acknowledged)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

export interface AlertRouterDeps {
  db: Db;
  streams: DurableStreams;
  clock: Clock;
  log: Logger;
  prefix: string;
  config: AlertRoutingConfig;
  metrics?: AlertRouterMetrics;
}

/**
 * The durable consumer of the alerts stream: delivers each alert (and each
 * escalation) to its channel's webhook as a CloudEvent. A failed call is
 * nak'd with an exponential delay, so the stream redelivers it — after a
 * restart too; a delivered (alert, level) is recorded and never sent again.
 */
export async function startAlertRouter(deps: AlertRouterDeps): Promise<Consumption> {
  const { alerts: stream } = coreStreams(deps.prefix);
  return deps.streams.consume(
    { stream: stream.name, durable: `${deps.prefix}_alert_router`, filterSubject: `${deps.prefix}.alert.>`, ackWaitMs: deps.config.webhookTimeoutMs + 30_000 },
    (msg) => routeOne(deps, msg),
  );
}

async function routeOne(deps: AlertRouterDeps, msg: StreamMsg): Promise<void> {
  const { db, log, config } = deps;
  let payload: StreamedAlert;
  try {
    payload = decodeJson(msg.data) as StreamedAlert;
  } catch (err) {
    log.error({ err, seq: msg.seq }, 'unreadable message on the alerts stream; skipped');
    return msg.ack();
  }
  const level = payload.escalation?.level ?? 0;
  const [row] = payload.escalation
    ? await db.select().from(alerts).where(eq(alerts.id, payload.escalation.alertId))
    : payload.dedupeKey
      ? await db.select().from(alerts).where(eq(alerts.dedupeKey, payload.dedupeKey))
      : payload.id
        ? await db.select().from(alerts).where(eq(alerts.id, payload.id))
        : [];
  if (!row) {
    log.error({ seq: msg.seq, msgId: msg.msgId }, 'alert on the stream has no row; skipped');
    return msg.ack();
  }
  const channel = channelAt(row.severity, level);
  if (!channel) return msg.ack();
  const logCtx = { alertId: row.id, tenantId: row.tenantId, severity: row.severity, channel, level };
  await db.insert(alertDeliveries).values({ alertId: row.id, level, channel }).onConflictDoNothing();
  const [delivery] = await db.select().from(alertDeliveries).where(and(eq(alertDeliveries.alertId, row.id), eq(alertDeliveries.level, level)));
  if (delivery?.deliveredAt) {
    deps.metrics?.deliveries.inc({ channel, outcome: 'duplicate' });
    return msg.ack();
  }
  const webhookName = CHANNEL_WEBHOOK[channel];
  const url = config.webhooks[webhookName];
  if (!url) {
    await setError(db, row.id, level, `no webhook for channel ${channel}: set TOLLGATE_ALERT_WEBHOOK_${webhookName.toUpperCase()} (shown in the console only)`);
    deps.metrics?.deliveries.inc({ channel, outcome: 'unconfigured' });
    return msg.ack();
  }
  if (row.ackedAt) {
    // Someone already acknowledged it (in the console): nobody needs to be woken up.
    await setError(db, row.id, level, `acknowledged at ${row.ackedAt.toISOString()} before delivery; not sent`);
    deps.metrics?.deliveries.inc({ channel, outcome: 'acknowledged' });
    return msg.ack();
  }
  const now = deps.clock.now();
  const [counted] = await db
    .update(alertDeliveries)
    .set({ attempts: sql`${alertDeliveries.attempts} + 1`, lastAttemptAt: now })
    .where(and(eq(alertDeliveries.alertId, row.id), eq(alertDeliveries.level, level), isNull(alertDeliveries.deliveredAt)))
    .returning({ attempts: alertDeliveries.attempts });
  if (!counted) return msg.ack(); // delivered meanwhile (another node)
  const deadline = slaDeadline(row.severity, row.createdAt, level === 0 ? null : row.escalatedAt);
  try {
    await postWebhook(url, alertCloudEvent(row, { level, channel, slaDeadline: deadline }), config.webhookTimeoutMs);
  } catch (err) {
    const delay = retryDelayMs(counted.attempts, config.retryBaseMs, config.retryMaxMs);
    await setError(db, row.id, level, (err as Error).message);
    deps.metrics?.deliveries.inc({ channel, outcome: 'failed' });
    log.warn({ ...logCtx, attempt: counted.attempts, retryInMs: delay, err: (err as Error).message }, 'alert delivery failed; retrying');
    return msg.nak(delay);
  }
  await db
    .update(alertDeliveries)
    .set({ deliveredAt: deps.clock.now(), lastError: null })
    .where(and(eq(alertDeliveries.alertId, row.id), eq(alertDeliveries.level, level)));
  deps.metrics?.deliveries.inc({ channel, outcome: 'delivered' });
  log.info({ ...logCtx, attempts: counted.attempts }, 'alert delivered');
  await msg.ack();
}

async function setError(db: Db, alertId: string, level: number, message: string): Promise<void> {
  await db.update(alertDeliveries).set({ lastError: message.slice(0, 1000) }).where(and(eq(alertDeliveries.alertId, alertId), eq(alertDeliveries.level, level)));
}
