/** The impact report's shape (`GET /api/v1/impact/accuracy`): shared by the server and the console, so no imports. */

/** Labelled predictions of one model in a time window: how many and their mean absolute error. */
export interface ArmAccuracy {
  n: number;
  mae: number | null;
}

/** One tenant's accuracy since its champion was promoted, against the champion it replaced. */
export interface TenantImpact {
  tenantId: string;
  championId: string;
  championLabel: string;
  /** When the current champion last became CHAMPION (its transition). */
  promotedAt: string | null;
  previousId: string | null;
  previousLabel: string | null;
  /** The current champion's labelled events since `promotedAt`. */
  current: ArmAccuracy;
  /** The previous champion's labelled events in the `windowDays` before `promotedAt`. */
  previous: ArmAccuracy;
  /** current MAE / previous MAE − 1 (negative = more accurate); null without both. */
  relativeMaeChange: number | null;
  money: TenantMoney;
}

/** What the accuracy change is worth, from the tenant's economics and its retraining spend. */
export interface TenantMoney {
  /** The tenant's economics (null until a MANAGER sets them). */
  valuePerErrorUnitUsd: number | null;
  unit: string | null;
  /** Predictions the current champion served since its promotion (labelled or not, without error). */
  served: number;
  /** Retraining that led to the promotion: runs started in the `windowDays` before it, and their cost. */
  retrainRuns: number;
  spendUsd: number;
  /** (previous MAE − current MAE) × served × valuePerErrorUnitUsd; negative when the champion is worse; null without economics or a measured change. */
  benefitUsd: number | null;
  /** benefitUsd − spendUsd. */
  netUsd: number | null;
  /** netUsd / spendUsd; null without retraining spend (nothing to return on) or without a benefit figure. */
  roi: number | null;
}

export interface ImpactReport {
  windowDays: number;
  tenants: TenantImpact[];
  summary: {
    /** Tenants served by a champion. */
    withChampion: number;
    /** Of those, measured on both sides (labelled events of both champions). */
    measured: number;
    improved: number;
    worse: number;
    /** Every measured tenant's labelled events pooled: MAE before and after, and the relative change. */
    pooled: { previousMae: number | null; currentMae: number | null; nPrevious: number; nCurrent: number; relativeMaeChange: number | null };
    /** Over the tenants with a benefit figure (`valued`): spend, benefit, net and ROI (null without spend). */
    money: { valued: number; spendUsd: number; benefitUsd: number; netUsd: number; roi: number | null };
  };
}
