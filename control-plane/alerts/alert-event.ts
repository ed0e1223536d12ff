import { CloudEvent, HTTP } from 'cloudevents';
import type { alerts } from '../../db/schema';
import type { Channel } from './alert-policy';

export const ALERT_RAISED = 'dev.tollgate.alert.raised';
export const ALERT_ESCALATED = 'dev.tollgate.alert.escalated';
export const ALERT_SOURCE = '/tollgate/alerts';

/** The CloudEvent id of an alert at a level: the alert id itself, then one id per escalation. */
export function alertEventId(alertId: string, level: number): string {
  return level === 0 ? alertId : `${alertId}/escalation/${level}`;
}

/**
 * An alert as a CloudEvents 1.0 event in structured mode (one JSON body with
 * the attributes and the data), ready to POST. `id` is stable per (alert,
 * level), so a receiver de-duplicates retries by it.
 */
export function alertCloudEvent(
  row: typeof alerts.$inferSelect,
  delivery: { level: number; channel: Channel; slaDeadline: Date },
): { headers: Record<string, string>; body: string } {
  const event = new CloudEvent({
    specversion: '1.0',
    id: alertEventId(row.id, delivery.level),
    type: delivery.level === 0 ? ALERT_RAISED : ALERT_ESCALATED,
    source: ALERT_SOURCE,
    subject: row.tenantId ?? '_system',
    time: (delivery.level === 0 ? row.createdAt : (row.escalatedAt ?? row.createdAt)).toISOString(),
    datacontenttype: 'application/json',
    data: {
      alertId: row.id,
      dedupeKey: row.dedupeKey,
      tenantId: row.tenantId,
      severity: row.severity,
      kind: row.kind,
      message: row.message,
      details: row.details,
      raisedAt: row.createdAt.toISOString(),
      channel: delivery.channel,
      escalationLevel: delivery.level,
      ackSlaDeadline: delivery.slaDeadline.toISOString(),
    },
  });
  const message = HTTP.structured(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers)) if (typeof v === 'string') headers[k] = v;
  return { headers, body: String(message.body) };
}
