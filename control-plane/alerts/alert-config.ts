import { z } from 'zod';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;
export const DEFAULT_RETRY_BASE_MS = 1_000;
export const DEFAULT_RETRY_MAX_MS = 5 * 60_000;
export const DEFAULT_ESCALATION_SWEEP_MS = 60_000;

const webhookUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL (the webhook alerts are POSTed to)');

const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).default(fallback);

const AlertEnv = z
  .object({
    TOLLGATE_ALERT_WEBHOOK_P1: webhookUrl.optional(),
    TOLLGATE_ALERT_WEBHOOK_P2: webhookUrl.optional(),
    TOLLGATE_ALERT_WEBHOOK_P3: webhookUrl.optional(),
    TOLLGATE_ALERT_WEBHOOK_ESCALATION: webhookUrl.optional(),
    TOLLGATE_ALERT_WEBHOOK_TIMEOUT_MS: ms(100, 60_000, DEFAULT_WEBHOOK_TIMEOUT_MS),
    TOLLGATE_ALERT_RETRY_BASE_MS: ms(1, 3_600_000, DEFAULT_RETRY_BASE_MS),
    TOLLGATE_ALERT_RETRY_MAX_MS: ms(1, 86_400_000, DEFAULT_RETRY_MAX_MS),
    TOLLGATE_ALERT_SWEEP_MS: ms(1_000, 3_600_000, DEFAULT_ESCALATION_SWEEP_MS),
  })
  .refine((e) => e.TOLLGATE_ALERT_RETRY_MAX_MS >= e.TOLLGATE_ALERT_RETRY_BASE_MS, {
    path: ['TOLLGATE_ALERT_RETRY_MAX_MS'],
    message: 'must not be less than TOLLGATE_ALERT_RETRY_BASE_MS',
  });

export interface AlertRoutingConfig {
  /** Webhook per channel; a channel without one is shown in the console only. */
  webhooks: { P1?: string; P2?: string; P3?: string; escalation?: string };
  webhookTimeoutMs: number;
  /** First retry delay; doubled per attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often unacknowledged alerts are checked against their SLA. */
  sweepMs: number;
}

/** The alert-routing settings from the environment; issues name the variable. */
export function parseAlertEnv(env: Record<string, string | undefined>): { ok: true; value: AlertRoutingConfig } | { ok: false; issues: string[] } {
  const r = AlertEnv.safeParse(env);
  if (!r.success) return { ok: false, issues: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  const e = r.data;
  return {
    ok: true,
    value: {
      webhooks: {
        ...(e.TOLLGATE_ALERT_WEBHOOK_P1 ? { P1: e.TOLLGATE_ALERT_WEBHOOK_P1 } : {}),
        ...(e.TOLLGATE_ALERT_WEBHOOK_P2 ? { P2: e.TOLLGATE_ALERT_WEBHOOK_P2 } : {}),
        ...(e.TOLLGATE_ALERT_WEBHOOK_P3 ? { P3: e.TOLLGATE_ALERT_WEBHOOK_P3 } : {}),
        ...(e.TOLLGATE_ALERT_WEBHOOK_ESCALATION ? { escalation: e.TOLLGATE_ALERT_WEBHOOK_ESCALATION } : {}),
      },
      webhookTimeoutMs: e.TOLLGATE_ALERT_WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.TOLLGATE_ALERT_RETRY_BASE_MS,
      retryMaxMs: e.TOLLGATE_ALERT_RETRY_MAX_MS,
      sweepMs: e.TOLLGATE_ALERT_SWEEP_MS,
    },
  };
}
