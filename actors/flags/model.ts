/**
 * Feature flags (issue #11): the shape of a flag as the control plane stores
 * it and as SDKs receive it. Pure types and constants.
 */

/** Rollout stages, in order; the `N` of each is guidance for the audience size, shown to operators. */
export const FLAG_STAGES = [
  { stage: 0, name: 'INTERNAL', label: 'Internal: developers and testers only', maxSubjects: 10 },
  { stage: 1, name: 'DOGFOOD', label: 'Dogfood: internal PM and ops', maxSubjects: 30 },
  { stage: 2, name: 'OPT_IN_BETA', label: 'Opt-in beta: users who asked', maxSubjects: 100 },
  { stage: 3, name: 'DEFAULT_ON', label: 'Default-on for new sessions, opt-out possible', maxSubjects: null },
  { stage: 4, name: 'FULL', label: 'Full: everyone', maxSubjects: null },
] as const;
export type FlagStage = 0 | 1 | 2 | 3 | 4;
export const MAX_STAGE: FlagStage = 4;

export function stageName(stage: number): string {
  return FLAG_STAGES[stage]?.name ?? `STAGE_${stage}`;
}

/** A named parameter set (e.g. a strategy profile); `targetLatencyMs` is what the performance gate holds it to. */
export interface Profile {
  name: string;
  params: Record<string, string | number | boolean>;
  targetLatencyMs?: number;
}

/**
 * Who gets the flag besides the stage's default: named users (from stage 0),
 * segments (from stage 1), and at stage 3 the share of subjects by a stable hash.
 */
export interface Audience {
  users: string[];
  segments: string[];
  /** 0–100, two decimals at most; the default-on share at stage 3. */
  percentage: number;
}

/** What an SDK needs to evaluate a flag for any subject, versioned per flag. */
export interface FlagConfig {
  key: string;
  stage: FlagStage;
  killed: boolean;
  audience: Audience;
  /** Keys of flags that must be on for a subject before this one can be. */
  dependencies: string[];
  /** The active profile (returned when the flag is on). */
  profile: Profile;
  /** Where a kill resets the profile to, and what an off flag returns. */
  defaultProfile: Profile;
  /** Grows by one with every change; SDKs ignore an update not newer than what they hold. */
  version: number;
}

/** Who is asking: the subject's id and what the application knows about them. */
export interface Subject {
  id: string;
  segments?: readonly string[];
  /** Flags this subject asked for (opt-in beta). */
  optIn?: readonly string[];
  /** Flags this subject turned off (honoured up to stage 3). */
  optOut?: readonly string[];
}

/** The metrics one run reports (`POST /api/v1/flags/:key/runs`); rates are shares in [0, 1]. */
export interface RunMetrics {
  passRate: number;
  avgScore: number;
  topIssueRate: number;
  avgLatencyMs: number;
  p95LatencyMs: number;
  vetoedShare: number;
  errorRate: number;
  timeoutRate: number;
  /** Share of suggested tags that a person corrected by hand. */
  manualCorrectionRate: number;
  testsPassed: boolean;
  /** Reports from users that the feature blocked them (any > 0 kills the flag). */
  userBlockingReports: number;
  /** Incidents attributed to the flag during the run (restart the 48 h clock). */
  incidents: number;
  /** Issue id → occurrences, for the daily report's top 3. */
  issues: Record<string, number>;
  /** The same run's numbers without the flag (the control): the gates' deltas are against it. */
  baseline: { passRate: number; avgScore: number; topIssueRate: number; vetoedShare: number };
}

/** One stored run. */
export interface FlagRun {
  runId: string;
  at: string;
  stage: FlagStage;
  metrics: RunMetrics;
}
