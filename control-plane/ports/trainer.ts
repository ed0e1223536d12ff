import type { SnapshotRow } from '../retrain/snapshot';

/** What a trainer gets: the snapshot split by time, and the seed. */
export interface TrainingInput {
  readonly tenantId: string;
  readonly snapshotId: string;
  readonly featureNames: readonly string[];
  /** Older rows: what the model learns from. */
  readonly train: readonly SnapshotRow[];
  /** Newer rows: the backtest the model is judged on (their `actual` is not for fitting). */
  readonly test: readonly SnapshotRow[];
  readonly seed: number;
}

/** Resource use, for the quotas. */
export interface TrainingUsage {
  seconds: number;
  gpuHours: number;
  costUsd: number;
}

export interface TrainingResult {
  artifact: Uint8Array;
  /** One prediction per `test` row, in order: Tollgate scores them itself. */
  predictions: number[];
  /** Whatever else the trainer reports (kept with the saga, not trusted for validation). */
  metrics: Record<string, unknown>;
  usage: TrainingUsage;
}

/**
 * Trains a model from a snapshot. Two adapters: the built-in deterministic
 * trainer (worker thread) and the command trainer (a user's script).
 * Failures throw TrainingFailedError; `signal` cancels (timeouts).
 */
export interface Trainer {
  readonly name: string;
  train(input: TrainingInput, signal?: AbortSignal): Promise<TrainingResult>;
}
