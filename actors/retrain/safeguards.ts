import type { TenantStage } from '../../db/schema/enums';
import type { RetrainRefusalCode } from '../errors';

/**
 * The retrain safeguards as pure functions over the actor's safeguard state,
 * the facts the control plane read for this request, and the injected time.
 * No I/O: days are simulated by passing another `now`.
 */
export interface RetrainPolicy {
  /** Minimum days between two retrain starts, per tenant stage. */
  readonly rateLimitDays: Readonly<Record<TenantStage, number>>;
  /** Days a rolled-back feature signature stays blacklisted. */
  readonly cooldownDays: number;
  /** Consecutive failed jobs that open the circuit breaker. */
  readonly breakerThreshold: number;
  readonly gpuHoursPerMonth: number;
  readonly spendUsdPerMonth: number;
  /** A job running longer is cancelled and its version FAILED. */
  readonly timeoutMs: number;
}

const DAY_MS = 86_400_000;

export const DEFAULT_RETRAIN_POLICY: RetrainPolicy = {
  // SHADOW_MODE trains (and never deploys) at the PILOT pace.
  rateLimitDays: { SHADOW_MODE: 14, PILOT: 14, CONTROLLED_AUTONOMY: 30 },
  cooldownDays: 7,
  breakerThreshold: 3,
  gpuHoursPerMonth: 100,
  spendUsdPerMonth: 500,
  timeoutMs: DAY_MS,
};

export type SafeguardName = 'forensicLock' | 'mutex' | 'circuitBreaker' | 'quota' | 'cooldown' | 'rateLimit';

export interface Refusal {
  readonly safeguard: SafeguardName;
  readonly code: RetrainRefusalCode;
  readonly message: string;
  /** When the refusal lifts by itself (ISO), if it does. */
  readonly until?: string;
}

export interface Usage {
  readonly seconds: number;
  readonly gpuHours: number;
  readonly costUsd: number;
}

export interface SafeguardState {
  readonly lastStartedAt: string | null;
  readonly consecutiveErrors: number;
  readonly circuitOpenedAt: string | null;
  /** Resource use of the current UTC month (`YYYY-MM`). */
  readonly usage: { readonly month: string; readonly gpuHours: number; readonly costUsd: number };
  /** The last job's use: the estimate a new job is checked against. */
  readonly lastJobUsage: Usage | null;
  readonly lastRefusals: Readonly<Partial<Record<SafeguardName, { code: string; message: string; at: string }>>>;
}

/** What the control plane read for this request (database facts the behaviour cannot fetch). */
export interface SafeguardFacts {
  readonly stage: TenantStage;
  readonly forensicLock: boolean;
  readonly forensicLockReason: string | null;
  readonly featureSignature: string;
  /** End of the cooldown on (tenant, featureSignature), if blacklisted. */
  readonly blacklistedUntil: string | null;
}

export function initialSafeguards(): SafeguardState {
  return { lastStartedAt: null, consecutiveErrors: 0, circuitOpenedAt: null, usage: { month: '', gpuHours: 0, costUsd: 0 }, lastJobUsage: null, lastRefusals: {} };
}

export function monthOf(now: Date): string {
  return now.toISOString().slice(0, 7);
}

/** Usage of `now`'s month: a new month starts from zero (that is how a quota lifts). */
export function usageThisMonth(s: SafeguardState, now: Date): { month: string; gpuHours: number; costUsd: number } {
  const month = monthOf(now);
  return s.usage.month === month ? s.usage : { month, gpuHours: 0, costUsd: 0 };
}

/**
 * Decides whether a retrain may start now: the first safeguard that refuses,
 * in order forensic lock, circuit breaker, quota, cooldown, rate limit; or
 * null when every safeguard passes.
 */
export function checkSafeguards(s: SafeguardState, f: SafeguardFacts, now: Date, p: RetrainPolicy = DEFAULT_RETRAIN_POLICY): Refusal | null {
  if (f.forensicLock) {
    return { safeguard: 'forensicLock', code: 'LOCKED', message: `the tenant is under a forensic lock (${f.forensicLockReason ?? 'no reason given'}); no retrain until it is lifted` };
  }
  if (s.circuitOpenedAt) {
    return {
      safeguard: 'circuitBreaker',
      code: 'RETRAIN_CIRCUIT_OPEN',
      message: `retraining is disabled after ${s.consecutiveErrors} consecutive failed jobs (since ${s.circuitOpenedAt}); an ADMIN must reset it`,
    };
  }
  const used = usageThisMonth(s, now);
  const est = s.lastJobUsage ?? { gpuHours: 0, costUsd: 0 };
  if (used.gpuHours + est.gpuHours > p.gpuHoursPerMonth || used.costUsd + est.costUsd > p.spendUsdPerMonth || used.gpuHours >= p.gpuHoursPerMonth || used.costUsd >= p.spendUsdPerMonth) {
    return {
      safeguard: 'quota',
      code: 'BLOCK_RETRAINING',
      message: `the monthly quota would be exceeded: ${round(used.gpuHours)} of ${p.gpuHoursPerMonth} GPU-hours and $${round(used.costUsd)} of $${p.spendUsdPerMonth} used in ${used.month}, a job uses about ${round(est.gpuHours)} GPU-hours and $${round(est.costUsd)}`,
      until: nextMonth(now),
    };
  }
  if (f.blacklistedUntil && Date.parse(f.blacklistedUntil) > now.getTime()) {
    return {
      safeguard: 'cooldown',
      code: 'RETRAIN_COOLDOWN',
      message: `feature signature ${f.featureSignature} was rolled back; it cannot be retrained before ${f.blacklistedUntil}`,
      until: f.blacklistedUntil,
    };
  }
  if (s.lastStartedAt) {
    const days = p.rateLimitDays[f.stage];
    const next = Date.parse(s.lastStartedAt) + days * DAY_MS;
    if (next > now.getTime()) {
      const until = new Date(next).toISOString();
      return { safeguard: 'rateLimit', code: 'RETRAIN_RATE_LIMIT', message: `at most one retrain per ${days} days in ${f.stage}; the last started ${s.lastStartedAt}, the next may start at ${until}`, until };
    }
  }
  return null;
}

/** Remembers a refusal so the console can show the last reason per safeguard. */
export function noteRefusal(s: SafeguardState, r: Refusal, now: Date): SafeguardState {
  return { ...s, lastRefusals: { ...s.lastRefusals, [r.safeguard]: { code: r.code, message: r.message, at: now.toISOString() } } };
}

/** A job started: the rate limit counts from here. */
export function noteStart(s: SafeguardState, now: Date): SafeguardState {
  return { ...s, lastStartedAt: now.toISOString() };
}

/**
 * A job finished. Its use is added to the month's; a failure counts toward
 * the breaker, a success resets the count. Says whether the breaker opened
 * and whether the quota is now exhausted (both raise alerts).
 */
export function noteOutcome(
  s: SafeguardState,
  outcome: 'succeeded' | 'failed',
  usage: Usage,
  now: Date,
  p: RetrainPolicy = DEFAULT_RETRAIN_POLICY,
): { state: SafeguardState; circuitOpened: boolean; quotaExceeded: boolean } {
  const month = usageThisMonth(s, now);
  const used = { month: month.month, gpuHours: month.gpuHours + usage.gpuHours, costUsd: month.costUsd + usage.costUsd };
  const errors = outcome === 'failed' ? s.consecutiveErrors + 1 : 0;
  const circuitOpened = !s.circuitOpenedAt && errors >= p.breakerThreshold;
  return {
    state: {
      ...s,
      usage: used,
      lastJobUsage: usage,
      consecutiveErrors: errors,
      circuitOpenedAt: circuitOpened ? now.toISOString() : s.circuitOpenedAt,
    },
    circuitOpened,
    quotaExceeded: used.gpuHours >= p.gpuHoursPerMonth || used.costUsd >= p.spendUsdPerMonth,
  };
}

/** An ADMIN closes the breaker: the error count starts again from zero. */
export function resetBreaker(s: SafeguardState): SafeguardState {
  const { circuitBreaker: _cleared, ...rest } = s.lastRefusals;
  return { ...s, consecutiveErrors: 0, circuitOpenedAt: null, lastRefusals: rest };
}

/** Whether a job that started at `startedAt` has run past the timeout. */
export function timedOut(startedAt: string, now: Date, p: RetrainPolicy = DEFAULT_RETRAIN_POLICY): boolean {
  return now.getTime() - Date.parse(startedAt) >= p.timeoutMs;
}

/** SHADOW_MODE tenants train but a new version is never handed on to deployment. */
export function mayDeploy(stage: TenantStage): boolean {
  return stage !== 'SHADOW_MODE';
}

function nextMonth(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
