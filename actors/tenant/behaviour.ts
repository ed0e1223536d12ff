import { z } from 'zod';
import { TENANT_STAGES } from '../../db/schema/enums';
import type { ActorMessage, Behaviour, Effect, Step } from '../actor';
import { BadRequestError } from '../errors';
import { parseWith, PrincipalSchema, V } from '../messages';
import { actorOf } from '../principal';
import {
  addDays,
  closeDay,
  closeTimeOf,
  edgesOf,
  initialDrift,
  nextDayToClose,
  observe,
  replaceBaseline,
  type Baseline,
  type DayAgg,
  type DriftReportBody,
  type DriftState,
  type ObservedEvent,
} from './drift-window';

const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a YYYY-MM-DD day');
const Acc = z.strictObject({ n: z.number().int().min(0), sumAbs: z.number(), sumSq: z.number(), sumSigned: z.number() });
const DayAggSchema = z.strictObject({
  n: z.number().int().min(0),
  labelled: z.number().int().min(0),
  features: z.record(z.string(), z.array(z.number().int().min(0))),
  errors: z.record(z.string(), Acc),
  lastEventTs: z.string().nullable(),
});
const BaselineSchema = z.strictObject({
  takenAt: z.string(),
  fromDay: DAY,
  toDay: DAY,
  n: z.number().int().min(0),
  features: z.record(z.string(), z.strictObject({ edges: z.array(z.number()), counts: z.array(z.number().int().min(0)) })),
  errors: z.record(z.string(), Acc),
  by: z.string(),
  reason: z.string(),
});
/**
 * Live events arrive by the thousand per second: a hand-written check (zod
 * costs more than the binning here) with zod's strictness — the same fields,
 * types and no unknown keys — and a message that names the index and field.
 */
function isObservedEvents(value: unknown, ctx: z.RefinementCtx): value is ObservedEvent[] {
  if (!Array.isArray(value)) return fail(ctx, 'expected an array');
  if (value.length > 5_000) return fail(ctx, 'at most 5000 events');
  for (let i = 0; i < value.length; i++) {
    const e = value[i] as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) return fail(ctx, `[${i}]: expected an object`);
    for (const key in e) if (!OBSERVED_KEYS.has(key)) return fail(ctx, `[${i}]: unknown field(s) ${key}`);
    if (typeof e.ts !== 'string') return fail(ctx, `[${i}].ts: expected a string`);
    if (typeof e.modelVersionId !== 'string') return fail(ctx, `[${i}].modelVersionId: expected a string`);
    if (typeof e.prediction !== 'number') return fail(ctx, `[${i}].prediction: expected a number`);
    if (e.actual !== undefined && e.actual !== null && typeof e.actual !== 'number') return fail(ctx, `[${i}].actual: expected a number`);
    if (e.labelOnly !== undefined && typeof e.labelOnly !== 'boolean') return fail(ctx, `[${i}].labelOnly: expected a boolean`);
    const f = e.features as Record<string, unknown> | null;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return fail(ctx, `[${i}].features: expected an object`);
    for (const k in f) if (typeof f[k] !== 'number') return fail(ctx, `[${i}].features.${k}: expected a number`);
  }
  return true;
}
const OBSERVED_KEYS = new Set(['ts', 'modelVersionId', 'features', 'prediction', 'actual', 'labelOnly']);

function fail(ctx: z.RefinementCtx, message: string): false {
  ctx.addIssue({ code: 'custom', message });
  return false;
}

const ObservedEvents = z.unknown().superRefine((v, ctx) => void isObservedEvents(v, ctx)) as unknown as z.ZodType<ObservedEvent[]>;

/** The drift settings a tenant may change (any subset, at least one). */
export const DRIFT_CONFIG_FIELDS = {
  psiWarn: z.number().positive().max(10).optional(),
  psiCritical: z.number().positive().max(10).optional(),
  breachDays: z.number().int().min(1).max(30).optional(),
  windowDays: z.number().int().min(1).max(30).optional(),
  closeGraceMs: z.number().int().min(0).max(86_400_000).optional(),
  minBaselineEvents: z.number().int().min(1).max(10_000_000).optional(),
  bins: z.number().int().min(2).max(100).optional(),
  rollbackRmse: z.number().positive().nullable().optional(),
  rollbackBias: z.number().positive().nullable().optional(),
};
const DriftConfigPatch = z.strictObject(DRIFT_CONFIG_FIELDS).refine((c) => Object.keys(c).length > 0, 'config: give at least one setting');

const TenantCommand = z.discriminatedUnion('type', [
  z.strictObject({ ...V, type: z.literal('create'), by: PrincipalSchema, name: z.string(), stage: z.enum(TENANT_STAGES).optional() }),
  z.strictObject({
    ...V,
    type: z.literal('registerModel'),
    by: PrincipalSchema,
    label: z.string(),
    owner: z.string().nullable().optional(),
    featureSignature: z.string(),
    artifactSha256: z.string().nullable().optional(),
    parentId: z.string().nullable().optional(),
  }),
  /** Production rollback (ADMIN; the registry port checks and does it in one transaction). */
  z.strictObject({ ...V, type: z.literal('rollback'), by: PrincipalSchema, reason: z.string(), trigger: z.string().optional() }),
  /** Live learning events (from the learning-stream consumer). */
  z.strictObject({ ...V, type: z.literal('observe'), events: ObservedEvents }),
  /** The close timer of a day. */
  z.strictObject({ ...V, type: z.literal('closeDay'), day: DAY }),
  /** The day recomputed from the stored events, with a first baseline when one was due. */
  z.strictObject({ ...V, type: z.literal('dayRecomputed'), day: DAY, agg: DayAggSchema, baseline: BaselineSchema.nullable() }),
  /** A stored report: drop it from the pending list. */
  z.strictObject({ ...V, type: z.literal('reportStored'), day: DAY }),
  /** Retry storing reports the drift port could not store. */
  z.strictObject({ ...V, type: z.literal('retryReports') }),
  /** An ADMIN's baseline reset, computed by the drift service from the current window. */
  z.strictObject({ ...V, type: z.literal('setBaseline'), by: PrincipalSchema, baseline: BaselineSchema }),
  z.strictObject({ ...V, type: z.literal('driftStatus') }),
  /** Per-tenant thresholds (ADMIN, checked by the gateway and the port). */
  z.strictObject({
    ...V,
    type: z.literal('setDriftConfig'),
    by: PrincipalSchema,
    config: DriftConfigPatch,
  }),
]);
export type TenantCommand = z.infer<typeof TenantCommand>;

export interface TenantState {
  drift: DriftState;
  /** Reports closed but not yet stored by the drift port (retried). */
  pendingReports: DriftReportBody[];
}

/** How long after a close request the window asks again if the recompute did not come back. */
export const CLOSE_RETRY_MS = 5 * 60_000;
export const REPORT_RETRY_MS = 60_000;
const CLOSE_TIMER = 'drift-close';
const REPORT_TIMER = 'drift-report-retry';

/** State persisted before drift existed (`{}`) reads as a fresh window. */
function normalize(state: Partial<TenantState> | undefined): TenantState {
  return { drift: state?.drift ?? initialDrift(), pendingReports: state?.pendingReports ?? [] };
}

/**
 * The tenant actor: the mailbox through which a tenant's registry commands
 * pass (the registry port does the transactional work), and the owner of
 * the tenant's drift window.
 */
export const tenantBehaviour: Behaviour<TenantState, TenantCommand> = {
  kind: 'tenant',
  initial: () => ({ drift: initialDrift(), pendingReports: [] }),
  parse: (raw) => parseWith(TenantCommand, raw),
  step(raw, msg, ctx) {
    const state = normalize(raw);
    switch (msg.type) {
      case 'create':
      case 'registerModel': {
        const { type, v: _v, by, ...input } = msg;
        const op = type === 'create' ? 'createTenant' : 'createModel';
        return { state: raw, effects: [{ kind: 'call', port: 'registry', op, args: { tenantId: ctx.id, by, input }, reply: true }] };
      }
      case 'rollback': {
        const { type: _t, v: _v, by, ...input } = msg;
        return { state: raw, effects: [{ kind: 'call', port: 'registry', op: 'rollback', args: { tenantId: ctx.id, by, input }, reply: true }] };
      }
      case 'observe': {
        const drift = observe(state.drift, msg.events);
        return withCloseTimer({ ...state, drift }, { accepted: msg.events.length, late: drift.late - state.drift.late });
      }
      case 'closeDay': {
        const { drift } = state;
        if (drift.lastClosedDay !== null && msg.day <= drift.lastClosedDay) return { state: raw };
        const baselineDue = drift.baseline === null;
        const effects: Effect[] = [
          {
            kind: 'call',
            port: 'drift',
            op: 'recomputeDay',
            args: {
              tenantId: ctx.id,
              day: msg.day,
              edges: edgesOf(drift.baseline),
              baseline: baselineDue ? { bins: drift.config.bins, fromDay: addDays(msg.day, -(drift.config.windowDays - 1)), toDay: msg.day, minEvents: drift.config.minBaselineEvents } : null,
            },
          },
          // If the recompute never comes back (node died, database down), ask again.
          { kind: 'schedule', timerId: CLOSE_TIMER, at: new Date(ctx.now.getTime() + CLOSE_RETRY_MS).toISOString(), message: closeMessage(msg.day) },
        ];
        return { state: { ...state, drift: { ...drift, closing: msg.day } }, effects };
      }
      case 'dayRecomputed': {
        const { drift } = state;
        // Only the close in progress: a late answer to an earlier request is stale.
        if (msg.day !== drift.closing) return { state: raw };
        const closed = closeDay(drift, ctx.id, msg.day, msg.agg as DayAgg, msg.baseline as Baseline | null);
        const next: TenantState = { drift: closed.state, pendingReports: [...state.pendingReports, closed.report] };
        const effects: Effect[] = [storeReport(ctx.id, closed.report), retryReportsTimer(ctx.now)];
        if (msg.baseline) effects.push({ kind: 'call', port: 'drift', op: 'auditBaseline', args: { tenantId: ctx.id, baseline: summarizeBaseline(msg.baseline as Baseline), automatic: true } });
        return scheduleNextClose(next, effects);
      }
      case 'reportStored': {
        const pendingReports = state.pendingReports.filter((r) => r.day !== msg.day);
        if (pendingReports.length === state.pendingReports.length) return { state: raw };
        const effects: Effect[] = pendingReports.length ? [] : [{ kind: 'cancelTimer', timerId: REPORT_TIMER }];
        return { state: { ...state, pendingReports }, effects };
      }
      case 'retryReports': {
        if (!state.pendingReports.length) return { state: raw };
        return { state, effects: [...state.pendingReports.map((r) => storeReport(ctx.id, r)), retryReportsTimer(ctx.now)] };
      }
      case 'setBaseline': {
        const baseline = { ...(msg.baseline as Baseline), by: actorOf(msg.by) };
        return {
          state: { ...state, drift: replaceBaseline(state.drift, baseline) },
          effects: [{ kind: 'call', port: 'drift', op: 'auditBaseline', args: { tenantId: ctx.id, baseline: summarizeBaseline(baseline), automatic: false, by: msg.by } }],
          reply: summarizeBaseline(baseline),
        };
      }
      case 'driftStatus':
        return { state: raw, reply: driftStatus(state) };
      case 'setDriftConfig': {
        const config = { ...state.drift.config, ...msg.config };
        if (!(config.psiWarn < config.psiCritical)) {
          return { state: raw, refusal: new BadRequestError(`psiWarn (${config.psiWarn}) must be below psiCritical (${config.psiCritical})`) };
        }
        return {
          state: { ...state, drift: { ...state.drift, config } },
          effects: [{ kind: 'call', port: 'drift', op: 'auditConfig', args: { tenantId: ctx.id, by: msg.by, before: state.drift.config, after: config } }],
          reply: config,
        };
      }
    }
  },
};

function closeMessage(day: string): ActorMessage {
  return { type: 'closeDay', day } as ActorMessage;
}

function storeReport(tenantId: string, report: DriftReportBody): Effect {
  return { kind: 'call', port: 'drift', op: 'storeReport', args: { tenantId, report } };
}

function retryReportsTimer(now: Date): Effect {
  return { kind: 'schedule', timerId: REPORT_TIMER, at: new Date(now.getTime() + REPORT_RETRY_MS).toISOString(), message: { type: 'retryReports' } };
}

/** Makes sure a close timer is set for the next day to close. */
function withCloseTimer(state: TenantState, reply: unknown): Step<TenantState> {
  const target = nextDayToClose(state.drift);
  if (target === null || state.drift.closing === target || (state.drift.closing !== null && state.drift.closing < target)) return { state, reply };
  return {
    state: { ...state, drift: { ...state.drift, closing: target } },
    effects: [{ kind: 'schedule', timerId: CLOSE_TIMER, at: closeTimeOf(target, state.drift.config).toISOString(), message: closeMessage(target) }],
    reply,
  };
}

function scheduleNextClose(state: TenantState, effects: Effect[]): Step<TenantState> {
  const target = nextDayToClose(state.drift)!;
  effects.push({ kind: 'schedule', timerId: CLOSE_TIMER, at: closeTimeOf(target, state.drift.config).toISOString(), message: closeMessage(target) });
  return { state: { ...state, drift: { ...state.drift, closing: target } }, effects };
}

/** A baseline without its arrays, for replies and the audit log. */
export function summarizeBaseline(b: Baseline) {
  return {
    takenAt: b.takenAt,
    fromDay: b.fromDay,
    toDay: b.toDay,
    n: b.n,
    by: b.by,
    reason: b.reason,
    features: Object.fromEntries(Object.entries(b.features).map(([k, f]) => [k, { edges: f.edges }])),
    models: Object.keys(b.errors),
  };
}

/** What the console and `GET …/drift` show of the live window. */
export function driftStatus(state: TenantState) {
  const { drift } = state;
  return {
    config: drift.config,
    baseline: drift.baseline ? summarizeBaseline(drift.baseline) : null,
    lastClosedDay: drift.lastClosedDay,
    closing: drift.closing,
    streak: drift.streak,
    breachActive: drift.breachActive,
    late: drift.late,
    history: drift.history,
    open: Object.fromEntries(Object.entries(drift.open).map(([day, agg]) => [day, { n: agg.n, labelled: agg.labelled }])),
    pendingReports: state.pendingReports.map((r) => r.day),
  };
}
