/**
 * Daily series: the rolling mean behind `DriftScore` and the seeds' rule that
 * a breach counts only after 3 consecutive days above the critical threshold.
 *
 * A day without data is NaN. It is left out of means and is never "above".
 */

/** `DriftScore` is the mean over this many days. */
export const DRIFT_SCORE_WINDOW_DAYS = 7;

/** A breach counts after this many consecutive days above critical. */
export const SUSTAINED_BREACH_DAYS = 3;

/**
 * Trailing mean over the last `window` entries that are not NaN, for every
 * index; windows at the start are partial; NaN where a window holds fewer
 * than `minPeriods` values. This is pandas'
 * `Series.rolling(window, min_periods).mean()`.
 *
 * Each window is summed afresh (O(n·window)), not kept as a running sum, so
 * a day's score does not depend on how much history preceded it: an actor
 * that recomputes one day gets the bits a batch recomputation gets.
 */
export function rollingMean(values: Float64Array, window: number, minPeriods = 1): Float64Array {
  if (!Number.isSafeInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, got ${window}`);
  if (!Number.isSafeInteger(minPeriods) || minPeriods < 1 || minPeriods > window) {
    throw new RangeError(`minPeriods must be an integer in 1..${window}, got ${minPeriods}`);
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let sum = 0;
    let count = 0;
    for (let j = Math.max(0, i - window + 1); j <= i; j++) {
      const v = values[j]!;
      if (v === v) {
        sum += v;
        count++;
      }
    }
    out[i] = count >= minPeriods ? sum / count : Number.NaN;
  }
  return out;
}

/**
 * The `DriftScore` series: for each day, the mean of the daily scores of the
 * last 7 days (days without data left out; partial at the start).
 */
export function driftScoreSeries(dailyScores: Float64Array, window: number = DRIFT_SCORE_WINDOW_DAYS): Float64Array {
  return rollingMean(dailyScores, window);
}

export interface BreachVerdict {
  /** Some run of `days` consecutive days above critical exists. */
  breached: boolean;
  /** Index of the day that completed the first such run; -1 when none did. */
  confirmedAt: number;
  /** Consecutive days above critical at the end of the series (the run still going on). */
  streak: number;
}

/**
 * The seeds' breach rule over daily scores: a breach counts only once
 * `days` consecutive days are strictly above `critical`. A day at the
 * threshold, below it, or without data (NaN) ends the run.
 *
 * It is applied to the daily scores, not to the rolling `DriftScore`: a
 * single outlier day lifts a 7-day mean for up to 7 days, and must not count.
 */
export function sustainedBreach(dailyScores: Float64Array, critical: number, days: number = SUSTAINED_BREACH_DAYS): BreachVerdict {
  if (!Number.isSafeInteger(days) || days < 1) throw new RangeError(`days must be a positive integer, got ${days}`);
  if (Number.isNaN(critical)) throw new RangeError('critical must be a number');
  let streak = 0;
  let confirmedAt = -1;
  for (let i = 0; i < dailyScores.length; i++) {
    streak = dailyScores[i]! > critical ? streak + 1 : 0;
    if (streak === days && confirmedAt === -1) confirmedAt = i;
  }
  return { breached: confirmedAt !== -1, confirmedAt, streak };
}
