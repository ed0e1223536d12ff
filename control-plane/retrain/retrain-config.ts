import { z } from 'zod';
import { DEFAULT_RETRAIN_POLICY, type RetrainPolicy } from '../../actors/retrain/safeguards';

const days = (fallback: number) => z.coerce.number().min(0).max(3650).default(fallback);

const RetrainEnv = z.object({
  TOLLGATE_RETRAIN_DAYS_SHADOW_MODE: days(DEFAULT_RETRAIN_POLICY.rateLimitDays.SHADOW_MODE),
  TOLLGATE_RETRAIN_DAYS_PILOT: days(DEFAULT_RETRAIN_POLICY.rateLimitDays.PILOT),
  TOLLGATE_RETRAIN_DAYS_CONTROLLED_AUTONOMY: days(DEFAULT_RETRAIN_POLICY.rateLimitDays.CONTROLLED_AUTONOMY),
  TOLLGATE_RETRAIN_COOLDOWN_DAYS: days(DEFAULT_RETRAIN_POLICY.cooldownDays),
  TOLLGATE_RETRAIN_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(100).default(DEFAULT_RETRAIN_POLICY.breakerThreshold),
  TOLLGATE_RETRAIN_GPU_HOURS: z.coerce.number().min(0).default(DEFAULT_RETRAIN_POLICY.gpuHoursPerMonth),
  TOLLGATE_RETRAIN_SPEND_USD: z.coerce.number().min(0).default(DEFAULT_RETRAIN_POLICY.spendUsdPerMonth),
  TOLLGATE_RETRAIN_TIMEOUT_MS: z.coerce.number().int().min(1_000, 'must be at least 1000').default(DEFAULT_RETRAIN_POLICY.timeoutMs),
  TOLLGATE_TRAINER_COMMAND: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      try {
        const parsed = JSON.parse(v) as unknown;
        if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((a) => typeof a === 'string' && a.length > 0)) return parsed as string[];
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of strings, e.g. ["python3","train.py","{train}","{test}","{seed}","{out}"]' });
      return z.NEVER;
    }),
});

export interface RetrainConfig {
  policy: RetrainPolicy;
  /** argv of the command trainer; absent = the built-in trainer. */
  trainerCommand?: string[];
}

/** The retrain settings from the environment; issues name the variable. */
export function parseRetrainEnv(env: Record<string, string | undefined>): { ok: true; value: RetrainConfig } | { ok: false; issues: string[] } {
  const r = RetrainEnv.safeParse(env);
  if (!r.success) return { ok: false, issues: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  const e = r.data;
  return {
    ok: true,
    value: {
      policy: {
        rateLimitDays: { SHADOW_MODE: e.TOLLGATE_RETRAIN_DAYS_SHADOW_MODE, PILOT: e.TOLLGATE_RETRAIN_DAYS_PILOT, CONTROLLED_AUTONOMY: e.TOLLGATE_RETRAIN_DAYS_CONTROLLED_AUTONOMY },
        cooldownDays: e.TOLLGATE_RETRAIN_COOLDOWN_DAYS,
        breakerThreshold: e.TOLLGATE_RETRAIN_BREAKER_THRESHOLD,
        gpuHoursPerMonth: e.TOLLGATE_RETRAIN_GPU_HOURS,
        spendUsdPerMonth: e.TOLLGATE_RETRAIN_SPEND_USD,
        timeoutMs: e.TOLLGATE_RETRAIN_TIMEOUT_MS,
      },
      ...(e.TOLLGATE_TRAINER_COMMAND ? { trainerCommand: e.TOLLGATE_TRAINER_COMMAND } : {}),
    },
  };
}
