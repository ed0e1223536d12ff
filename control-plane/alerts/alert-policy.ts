import type { AlertSeverity } from '../../db/schema/enums';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The people-facing channels, lowest urgency first: escalation walks up this list. */
export const CHANNELS = ['ticket', 'chat', 'call-sms', 'escalation'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The seeds' policy: each severity's own channel and its acknowledgement SLA. */
export const SEVERITY_POLICY: Readonly<Record<AlertSeverity, { channel: Channel; ackSlaMs: number }>> = {
  P1: { channel: 'call-sms', ackSlaMs: 15 * MINUTE },
  P2: { channel: 'chat', ackSlaMs: 4 * HOUR },
  P3: { channel: 'ticket', ackSlaMs: 24 * HOUR },
};

/** Which configured webhook serves a channel. */
export const CHANNEL_WEBHOOK: Readonly<Record<Channel, 'P1' | 'P2' | 'P3' | 'escalation'>> = {
  ticket: 'P3',
  chat: 'P2',
  'call-sms': 'P1',
  escalation: 'escalation',
};

/** The channel an alert of this severity goes to at this escalation level; null past the top. */
export function channelAt(severity: AlertSeverity, level: number): Channel | null {
  const start = CHANNELS.indexOf(SEVERITY_POLICY[severity].channel);
  return CHANNELS[start + level] ?? null;
}

/**
 * When the current level's acknowledgement window ends: each level gets the
 * severity's SLA again, counted from the alert (level 0) or from the last
 * escalation.
 */
export function slaDeadline(severity: AlertSeverity, createdAt: Date, escalatedAt: Date | null): Date {
  return new Date((escalatedAt ?? createdAt).getTime() + SEVERITY_POLICY[severity].ackSlaMs);
}

/** Exponential backoff for the n-th failed attempt (1-based), capped. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}
