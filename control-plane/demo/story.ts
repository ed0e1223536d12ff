/**
 * The demo's script, as data and pure functions: which tenants exist, how
 * each model version forecasts, which scripted actions are due, and the one
 * log line ("beat") each observed change deserves. The simulator gathers the
 * views and carries the actions out; nothing here does I/O.
 */
import { createHash } from 'node:crypto';
import type { ModelBehaviour, Regime } from './fields';

export const DAY_MS = 86_400_000;

export type Plot = 'drift' | 'canary-degrades' | 'production-rollback';

export interface DemoTenant {
  id: string;
  name: string;
  crop: string;
  plot: Plot;
}

export const DEMO_TENANTS: readonly DemoTenant[] = [
  { id: 'alder-farms', name: 'Alder Farms', crop: 'wheat', plot: 'drift' },
  { id: 'birch-valley', name: 'Birch Valley Co-op', crop: 'maize', plot: 'canary-degrades' },
  { id: 'cedar-ridge', name: 'Cedar Ridge Estate', crop: 'barley', plot: 'production-rollback' },
];

/** Story days (since the demo was seeded) of the scripted events. */
export const SCRIPT = {
  /** alder-farms: a heat wave with drought sets in (features drift). */
  heatwaveFromDay: 1,
  /** birch-valley: its data science team ships v2 to shadow. */
  candidateAtDay: 0.5,
  /** cedar-ridge: a unit change in the rain feed makes champion v2 over-forecast; the committee's RMSE threshold rolls it back at a day's close… */
  faultFromDay: 1.25,
  /** …or, if nothing did by then, the on-call ADMIN by hand. */
  manualRollbackAtDay: 3.5,
  /** The story is told: the simulator stops sending traffic (the embedded database stays small). */
  endDay: 30,
} as const;

/** Days of history reported at the first start, so a baseline exists at once. */
export const BACKFILL_DAYS = 3;

export function storyDay(nowMs: number, storyStartMs: number): number {
  return (nowMs - storyStartMs) / DAY_MS;
}

/** The weather regime of a tenant's region on a story day. */
export function regimeOf(tenant: DemoTenant, day: number): Regime {
  return tenant.plot === 'drift' && day >= SCRIPT.heatwaveFromDay ? 'heatwave' : 'normal';
}

export interface ModelView {
  id: string;
  label: string;
  state: string;
  canaryTrafficPercent: number | null;
  parentId: string | null;
  revision: number;
}

/** How a simulated version forecasts (retrained versions with a readable artifact are served from it instead). */
export function behaviourOf(tenant: DemoTenant, model: Pick<ModelView, 'label' | 'state' | 'parentId'>, day: number): ModelBehaviour {
  const steady: ModelBehaviour = { noiseSd: 0.3, bias: 0, knowsHeat: false };
  // A retrained version learned from the recent data, heat stress included.
  if (tenant.plot === 'drift' && model.parentId) return { noiseSd: 0.3, bias: 0, knowsHeat: true };
  if (tenant.plot === 'canary-degrades' && model.label === 'v2') {
    // Fine in shadow; once it takes live traffic its feature pipeline reads the wrong NDVI pass.
    return model.state === 'CANARY' || model.state === 'FAILED' ? { noiseSd: 0.3, bias: 0.9, knowsHeat: false } : { noiseSd: 0.2, bias: 0, knowsHeat: false };
  }
  if (tenant.plot === 'production-rollback' && model.label === 'v2') {
    return day >= SCRIPT.faultFromDay ? { noiseSd: 0.3, bias: 2.5, knowsHeat: false } : { noiseSd: 0.25, bias: 0, knowsHeat: false };
  }
  return steady;
}

export type Action =
  | { kind: 'registerCandidate'; id: string; tenantId: string; label: string; featureSignature: string; owner: string; existingId?: string }
  | { kind: 'deployShadow'; id: string; tenantId: string; modelId: string; label: string }
  | { kind: 'rollback'; id: string; tenantId: string; reason: string };

export interface TenantView {
  tenant: DemoTenant;
  day: number;
  forensicLock: boolean;
  models: ModelView[];
}

/** The scripted actions due now that were not carried out yet (ids are stable: each runs once). */
export function dueActions(view: TenantView, done: ReadonlySet<string>): Action[] {
  const { tenant, day } = view;
  const out: Action[] = [];
  if (day >= SCRIPT.endDay) return out;
  const add = (a: Action) => {
    if (!done.has(a.id)) out.push(a);
  };
  const candidate = view.models.find((m) => m.label === 'v2');
  // A candidate not yet in SHADOW (a stop in the middle of shipping it) is walked on.
  if (tenant.plot === 'canary-degrades' && day >= SCRIPT.candidateAtDay && (!candidate || ['DRAFT', 'TRAINING', 'VALIDATED'].includes(candidate.state))) {
    add({ kind: 'registerCandidate', id: `${tenant.id}:register-v2`, tenantId: tenant.id, label: 'v2', featureSignature: 'ndvi,temp_c,rain_mm,soil_n', owner: 'demo-data-science', ...(candidate ? { existingId: candidate.id } : {}) });
  }
  if (tenant.plot === 'drift') {
    // The demo manager puts each retrained, validated version into shadow.
    for (const m of view.models) {
      if (m.state === 'VALIDATED' && m.parentId) add({ kind: 'deployShadow', id: `${tenant.id}:shadow:${m.id}`, tenantId: tenant.id, modelId: m.id, label: m.label });
    }
  }
  if (tenant.plot === 'production-rollback' && day >= SCRIPT.manualRollbackAtDay && !view.forensicLock) {
    const champion = view.models.find((m) => m.state === 'CHAMPION');
    if (champion?.label === 'v2') {
      add({ kind: 'rollback', id: `${tenant.id}:rollback`, tenantId: tenant.id, reason: `champion v2 over-forecasts yields by about 2.5 t/ha since the rain feed changed units (story day ${SCRIPT.faultFromDay}), and no automatic rollback caught it` });
    }
  }
  return out;
}

/** What the narrator remembers of a tenant between looks. */
export interface Seen {
  models: Record<string, string>;
  promotions: Record<string, string>;
  lastReportDay: string | null;
  sagas: Record<string, string>;
  locked: boolean;
}

export const NOTHING_SEEN: Seen = { models: {}, promotions: {}, lastReportDay: null, sagas: {}, locked: false };

export interface Observation {
  tenantId: string;
  models: ModelView[];
  forensicLock: boolean;
  /** Signed drift reports, oldest first. */
  reports: Array<{ day: string; score: number | null; level: string; breachStarted: boolean; driftScore: number | null }>;
  /** Retrain sagas (running and finished). */
  sagas: Array<{ sagaId: string; step: string; trigger: string; modelVersionId?: string | null; error?: { message: string } | null; evaluation?: { passed: boolean; reason: string } | null }>;
  /** Promotion of each candidate: `<stage>/<status>`. */
  promotions: Record<string, { stage: string; status: string; decision?: string | null }>;
}

export interface Beat {
  tenantId: string;
  beat: string;
  msg: string;
  data?: Record<string, unknown>;
}

/** The story beats between what was seen and what is observed now, in a readable order. */
export function narrate(seen: Seen, o: Observation): { beats: Beat[]; seen: Seen } {
  const beats: Beat[] = [];
  const t = o.tenantId;
  const next: Seen = { models: { ...seen.models }, promotions: { ...seen.promotions }, lastReportDay: seen.lastReportDay, sagas: { ...seen.sagas }, locked: o.forensicLock };
  for (const r of o.reports) {
    if (next.lastReportDay !== null && r.day <= next.lastReportDay) continue;
    next.lastReportDay = r.day;
    const score = r.score === null ? 'no score' : `PSI ${r.score.toFixed(3)}`;
    beats.push({ tenantId: t, beat: r.breachStarted ? 'drift.breach' : 'drift.report', msg: r.breachStarted ? `${t}: sustained drift breach on ${r.day} (${score}): retraining is asked for` : `${t}: drift report for ${r.day}: ${score}, ${r.level}`, data: { day: r.day, score: r.score, level: r.level, driftScore: r.driftScore } });
  }
  for (const s of o.sagas) {
    if (next.sagas[s.sagaId] === s.step) continue;
    next.sagas[s.sagaId] = s.step;
    const why = s.step === 'failed' ? `: ${s.error?.message ?? s.evaluation?.reason ?? 'failed'}` : s.step === 'validated' ? ` (version ${s.modelVersionId})` : '';
    beats.push({ tenantId: t, beat: `retrain.${s.step}`, msg: `${t}: retraining (${s.trigger}) ${s.step}${why}`, data: { sagaId: s.sagaId, step: s.step } });
  }
  for (const m of o.models) {
    const before = next.models[m.id];
    if (before === m.state) continue;
    next.models[m.id] = m.state;
    const traffic = m.state === 'CANARY' && m.canaryTrafficPercent !== null ? ` at ${m.canaryTrafficPercent}% of traffic` : '';
    const rolledBack = m.state === 'ROLLED_BACK';
    beats.push({ tenantId: t, beat: rolledBack ? 'production.rolled_back' : 'model.state', msg: `${t}: ${m.label} ${before ? `${before} → ` : 'is '}${m.state}${traffic}${rolledBack ? ': production rolled back to the previous stable version' : ''}`, data: { modelVersionId: m.id, from: before ?? null, to: m.state } });
  }
  for (const [id, p] of Object.entries(o.promotions)) {
    const key = `${p.stage}/${p.status}`;
    if (next.promotions[id] === key) continue;
    next.promotions[id] = key;
    const label = o.models.find((m) => m.id === id)?.label ?? id;
    const msg =
      p.status === 'awaiting_approval'
        ? `${t}: ${label} passed its canary; waiting for the demo manager's approval (POST /api/v1/models/${id}/approvals)`
        : p.status === 'rolled_back'
          ? `${t}: ${label}'s canary was rolled back automatically (${p.decision ?? 'breaker'})`
          : `${t}: ${label} promotion at ${p.stage} (${p.status})`;
    beats.push({ tenantId: t, beat: `promotion.${p.status}`, msg, data: { modelVersionId: id, stage: p.stage, status: p.status } });
  }
  if (o.forensicLock && !seen.locked) beats.push({ tenantId: t, beat: 'tenant.locked', msg: `${t}: under a forensic lock (a committee unlock lifts it)` });
  return { beats, seen: next };
}

/** A stand-in artifact digest for a demo version the simulator serves (the formula it forecasts with). */
export function demoArtifactDigest(tenantId: string, label: string): string {
  return createHash('sha256').update(`tollgate-demo-model:${tenantId}:${label}`).digest('hex');
}
