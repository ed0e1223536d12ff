import { z } from 'zod';
import { TENANT_STAGES } from '../../db/schema/enums';
import type { ActorContext, ActorMessage, Behaviour, Effect, Step } from '../actor';
import { parseWith, PrincipalSchema, V } from '../messages';
import {
  checkSafeguards,
  DEFAULT_RETRAIN_POLICY,
  initialSafeguards,
  mayDeploy,
  noteOutcome,
  noteRefusal,
  noteStart,
  resetBreaker,
  type RetrainPolicy,
  type SafeguardState,
  type Usage,
} from './safeguards';

const Uuid = z.uuid();
const UsageSchema = z.strictObject({ seconds: z.number().min(0), gpuHours: z.number().min(0), costUsd: z.number().min(0) });
const Facts = z.strictObject({
  stage: z.enum(TENANT_STAGES),
  forensicLock: z.boolean(),
  forensicLockReason: z.string().nullable(),
  featureSignature: z.string(),
  blacklistedUntil: z.string().nullable(),
  parentId: z.string().nullable(),
});

const RetrainCommand = z.discriminatedUnion('type', [
  z.strictObject({
    ...V,
    type: z.literal('request'),
    sagaId: Uuid,
    trigger: z.enum(['breach', 'manual']),
    reason: z.string().min(1).max(2000),
    by: PrincipalSchema,
    facts: Facts,
    breach: z.strictObject({ modelVersionId: z.string(), day: z.string(), score: z.number(), reportId: z.string() }).optional(),
  }),
  z.strictObject({ ...V, type: z.literal('started'), sagaId: Uuid, lease: z.strictObject({ lockKey: z.string(), token: z.number().int().min(1), owner: z.string() }) }),
  z.strictObject({ ...V, type: z.literal('lockRefused'), sagaId: Uuid, message: z.string() }),
  z.strictObject({ ...V, type: z.literal('snapshotted'), sagaId: Uuid, snapshotId: Uuid, rowCount: z.number().int().min(0), merkleRoot: z.string() }),
  z.strictObject({ ...V, type: z.literal('registered'), sagaId: Uuid, modelVersionId: Uuid }),
  z.strictObject({
    ...V,
    type: z.literal('trained'),
    sagaId: Uuid,
    artifactSha256: z.string(),
    usage: UsageSchema,
    evaluation: z.strictObject({ passed: z.boolean(), reason: z.string() }).passthrough(),
  }),
  z.strictObject({ ...V, type: z.literal('stepFailed'), sagaId: Uuid, step: z.string(), code: z.string(), message: z.string(), usage: UsageSchema.optional() }),
  z.strictObject({ ...V, type: z.literal('timeout'), sagaId: Uuid }),
  z.strictObject({ ...V, type: z.literal('resume') }),
  z.strictObject({ ...V, type: z.literal('interrupted'), sagaId: Uuid }),
  z.strictObject({ ...V, type: z.literal('reset'), by: PrincipalSchema, reason: z.string().min(1).max(2000) }),
]);
export type RetrainCommand = z.infer<typeof RetrainCommand>;

export const SAGA_STEPS = ['starting', 'snapshotting', 'registering', 'training', 'validated', 'failed'] as const;
export type SagaStep = (typeof SAGA_STEPS)[number];
const PERCENT: Record<SagaStep, number> = { starting: 5, snapshotting: 15, registering: 25, training: 40, validated: 100, failed: 100 };

export interface Saga {
  sagaId: string;
  trigger: 'breach' | 'manual';
  reason: string;
  requestedBy: string;
  stage: (typeof TENANT_STAGES)[number];
  featureSignature: string;
  parentId: string | null;
  startedAt: string;
  step: SagaStep;
  /** The rate-limit mark before this saga, restored if the mutex refuses it. */
  previousStartedAt: string | null;
  lease?: { lockKey: string; token: number; owner: string };
  snapshotId?: string;
  rowCount?: number;
  merkleRoot?: string;
  modelVersionId?: string;
  artifactSha256?: string;
  usage?: Usage;
  evaluation?: { passed: boolean; reason: string } & Record<string, unknown>;
  error?: { step: string; code: string; message: string };
  finishedAt?: string;
  /** False in SHADOW_MODE: the version is validated but never handed on. */
  deploy: boolean;
}

export interface RetrainState {
  tenantId: string;
  safeguards: SafeguardState;
  saga: Saga | null;
  /** The last finished sagas, newest first. */
  history: Saga[];
}

export const HISTORY = 10;
export const LOCK_TTL_MS = 24 * 3_600_000;
export const SNAPSHOT_WINDOW_DAYS = 90;

export function lockKeyOf(tenantId: string): string {
  return `lock:tenant:${tenantId}:retrain`;
}

function timeoutMessage(sagaId: string): ActorMessage {
  const message: ActorMessage & { sagaId: string } = { type: 'timeout', sagaId };
  return message;
}

export function isActive(s: Saga | null): s is Saga {
  return !!s && s.step !== 'validated' && s.step !== 'failed';
}

const call = (op: string, args: Record<string, unknown>, reply = false): Effect => ({ kind: 'call', port: 'retrain', op, args, ...(reply ? { reply } : {}) });

function progress(tenantId: string, saga: Saga, safeguards: SafeguardState): Effect {
  const percent = PERCENT[saga.step];
  const last = safeguards.lastJobUsage?.seconds;
  const etaMs = last === undefined || percent === 100 ? null : Math.round(last * 1000 * (1 - percent / 100));
  return { kind: 'publish', tenantId, type: 'retrain.progress', data: { sagaId: saga.sagaId, step: saga.step, percent, etaMs } };
}

/**
 * The retraining saga of one tenant: safeguards → mutex → snapshot → DRAFT
 * version → TRAINING → VALIDATED or FAILED. Each step is persisted before
 * the retrain port runs it; the port reports back with the next message.
 * After a crash, `resume` → `interrupted` fails the orphaned saga cleanly.
 */
export function retrainBehaviour(policy: RetrainPolicy = DEFAULT_RETRAIN_POLICY): Behaviour<RetrainState, RetrainCommand> {
  return {
    kind: 'retrain',
    initial: (id) => ({ tenantId: id, safeguards: initialSafeguards(), saga: null, history: [] }),
    parse: (raw) => parseWith(RetrainCommand, raw),
    step(state, msg, ctx) {
      switch (msg.type) {
        case 'request':
          return request(state, msg, ctx, policy);
        case 'reset': {
          const safeguards = resetBreaker(state.safeguards);
          return {
            state: { ...state, safeguards },
            effects: [call('reset', { tenantId: state.tenantId, by: msg.by, reason: msg.reason, wasOpen: !!state.safeguards.circuitOpenedAt, consecutiveErrors: state.safeguards.consecutiveErrors }, true)],
          };
        }
        case 'resume':
          // The port answers `interrupted` only if no job of this saga runs on this node.
          if (!isActive(state.saga)) return { state };
          return { state, effects: [call('resume', { tenantId: state.tenantId, sagaId: state.saga.sagaId })] };
        case 'interrupted':
          if (!isActive(state.saga) || state.saga.sagaId !== msg.sagaId) return { state };
          return fail(state, state.saga, { step: state.saga.step, code: 'INTERRUPTED', message: 'the node running this retrain stopped; the saga was failed cleanly on restart' }, ctx, policy, { recovered: true });
        default:
          return progressSaga(state, msg, ctx, policy);
      }
    },
  };
}

function request(state: RetrainState, msg: Extract<RetrainCommand, { type: 'request' }>, ctx: ActorContext, policy: RetrainPolicy): Step<RetrainState> {
  const base = { tenantId: state.tenantId, sagaId: msg.sagaId, trigger: msg.trigger, reason: msg.reason, by: msg.by, breach: msg.breach ?? null };
  const refusal = isActive(state.saga)
    ? { safeguard: 'mutex' as const, code: 'LOCKED' as const, message: `retrain ${state.saga.sagaId} is already running (step ${state.saga.step})` }
    : checkSafeguards(state.safeguards, msg.facts, ctx.now, policy);
  if (refusal) {
    return { state: { ...state, safeguards: noteRefusal(state.safeguards, refusal, ctx.now) }, effects: [call('refuse', { ...base, refusal }, true)] };
  }
  const saga: Saga = {
    sagaId: msg.sagaId,
    trigger: msg.trigger,
    reason: msg.reason,
    requestedBy: `${msg.by.kind}:${msg.by.name}`,
    stage: msg.facts.stage,
    featureSignature: msg.facts.featureSignature,
    parentId: msg.facts.parentId,
    startedAt: ctx.now.toISOString(),
    step: 'starting',
    previousStartedAt: state.safeguards.lastStartedAt,
    deploy: mayDeploy(msg.facts.stage),
  };
  const safeguards = noteStart(state.safeguards, ctx.now);
  return {
    state: { ...state, safeguards, saga },
    effects: [
      { kind: 'schedule', timerId: 'timeout', at: new Date(ctx.now.getTime() + policy.timeoutMs).toISOString(), message: timeoutMessage(saga.sagaId) },
      progress(state.tenantId, saga, safeguards),
      call('start', { ...base, lockKey: lockKeyOf(state.tenantId), ttlMs: LOCK_TTL_MS, stage: saga.stage, deploy: saga.deploy }, true),
    ],
  };
}

function progressSaga(state: RetrainState, msg: RetrainCommand, ctx: ActorContext, policy: RetrainPolicy): Step<RetrainState> {
  const saga = state.saga;
  // Reports for another (older) saga, or after this one ended, change nothing.
  if (!('sagaId' in msg) || !isActive(saga) || saga.sagaId !== msg.sagaId) return { state };
  const t = state.tenantId;
  const fence = () => ({ lockKey: saga.lease!.lockKey, token: saga.lease!.token });
  const next = (s: Saga, effects: Effect[]): Step<RetrainState> => ({ state: { ...state, saga: s }, effects: [progress(t, s, state.safeguards), ...effects] });
  switch (msg.type) {
    case 'lockRefused': {
      const refusal = { safeguard: 'mutex' as const, code: 'LOCKED' as const, message: msg.message };
      const safeguards = noteRefusal({ ...state.safeguards, lastStartedAt: saga.previousStartedAt }, refusal, ctx.now);
      return { state: { ...state, safeguards, saga: null }, effects: [{ kind: 'cancelTimer', timerId: 'timeout' }] };
    }
    case 'started': {
      if (saga.step !== 'starting') return { state };
      const s: Saga = { ...saga, step: 'snapshotting', lease: msg.lease };
      const spec = { from: new Date(ctx.now.getTime() - SNAPSHOT_WINDOW_DAYS * 86_400_000).toISOString(), to: ctx.now.toISOString(), labelledOnly: true };
      return next(s, [call('snapshot', { tenantId: t, sagaId: s.sagaId, fence: { lockKey: msg.lease.lockKey, token: msg.lease.token }, featureSignature: s.featureSignature, spec })]);
    }
    case 'snapshotted': {
      if (saga.step !== 'snapshotting') return { state };
      const s: Saga = { ...saga, step: 'registering', snapshotId: msg.snapshotId, rowCount: msg.rowCount, merkleRoot: msg.merkleRoot };
      return next(s, [call('register', { tenantId: t, sagaId: s.sagaId, fence: fence(), snapshotId: msg.snapshotId, featureSignature: s.featureSignature, parentId: s.parentId, owner: s.requestedBy })]);
    }
    case 'registered': {
      if (saga.step !== 'registering') return { state };
      const s: Saga = { ...saga, step: 'training', modelVersionId: msg.modelVersionId };
      // The seed comes from the snapshot: the same data trains the same bytes.
      const seed = Number.parseInt((s.merkleRoot ?? '0').slice(0, 8), 16) >>> 0;
      return next(s, [call('train', { tenantId: t, sagaId: s.sagaId, fence: fence(), snapshotId: s.snapshotId, modelVersionId: msg.modelVersionId, seed })]);
    }
    case 'trained': {
      if (saga.step !== 'training') return { state };
      const passed = msg.evaluation.passed;
      const s: Saga = { ...saga, artifactSha256: msg.artifactSha256, usage: msg.usage, evaluation: msg.evaluation };
      if (!passed) return fail(state, s, { step: 'evaluating', code: 'VALIDATION_FAILED', message: msg.evaluation.reason }, ctx, policy, { counts: false });
      return finish(state, { ...s, step: 'validated' }, 'succeeded', ctx, policy);
    }
    case 'stepFailed':
      return fail(state, { ...saga, ...(msg.usage ? { usage: msg.usage } : {}) }, { step: msg.step, code: msg.code, message: msg.message }, ctx, policy);
    case 'timeout':
      return fail(state, saga, { step: saga.step, code: 'TIMEOUT', message: `the retrain ran past its timeout of ${policy.timeoutMs / 3_600_000} h and was cancelled` }, ctx, policy, { timedOut: true });
    default:
      return { state };
  }
}

function fail(
  state: RetrainState,
  saga: Saga,
  error: { step: string; code: string; message: string },
  ctx: ActorContext,
  policy: RetrainPolicy,
  opts: { counts?: boolean; timedOut?: boolean; recovered?: boolean } = {},
): Step<RetrainState> {
  // A model that does not beat the baseline is an outcome, not an error of the machinery.
  return finish(state, { ...saga, step: 'failed', error }, opts.counts === false ? 'succeeded' : 'failed', ctx, policy, opts);
}

function finish(
  state: RetrainState,
  saga: Saga,
  outcome: 'succeeded' | 'failed',
  ctx: ActorContext,
  policy: RetrainPolicy,
  opts: { timedOut?: boolean; recovered?: boolean } = {},
): Step<RetrainState> {
  const usage = saga.usage ?? { seconds: (ctx.now.getTime() - Date.parse(saga.startedAt)) / 1000, gpuHours: 0, costUsd: 0 };
  const noted = noteOutcome(state.safeguards, outcome, usage, ctx.now, policy);
  const done: Saga = { ...saga, usage, finishedAt: ctx.now.toISOString() };
  const t = state.tenantId;
  return {
    state: { ...state, safeguards: noted.state, saga: null, history: [done, ...state.history].slice(0, HISTORY) },
    effects: [
      { kind: 'cancelTimer', timerId: 'timeout' },
      progress(t, done, noted.state),
      call('finish', {
        tenantId: t,
        saga: done,
        outcome: done.step === 'validated' ? 'VALIDATED' : 'FAILED',
        alerts: { quotaExceeded: noted.quotaExceeded, circuitOpened: noted.circuitOpened, timedOut: opts.timedOut === true },
        recovered: opts.recovered === true,
        consecutiveErrors: noted.state.consecutiveErrors,
      }),
    ],
  };
}
