/** Value sets shared by the schema checks and the domain code. */
export const MODEL_STATES = [
  'DRAFT',
  'TRAINING',
  'VALIDATED',
  'SHADOW',
  'CANARY',
  'CHAMPION',
  'DEPRECATED',
  'FAILED',
  'QUARANTINED',
  'ROLLED_BACK',
] as const;
export type ModelState = (typeof MODEL_STATES)[number];

export const TENANT_STAGES = ['SHADOW_MODE', 'PILOT', 'CONTROLLED_AUTONOMY'] as const;
export type TenantStage = (typeof TENANT_STAGES)[number];

export const ROLES = ['AGRONOMIST', 'MANAGER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export const CANARY_VERDICTS = ['PASSED', 'FAILED', 'INCONCLUSIVE'] as const;
export type CanaryVerdict = (typeof CANARY_VERDICTS)[number];

export const ALERT_SEVERITIES = ['P1', 'P2', 'P3'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export type TenantId = string & { readonly __brand: 'TenantId' };
export type ModelVersionId = string & { readonly __brand: 'ModelVersionId' };

/** SQL list literal for CHECK constraints: ('A','B',...). */
export function sqlList(values: readonly string[]): string {
  return `(${values.map((v) => `'${v}'`).join(',')})`;
}
