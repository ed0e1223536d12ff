import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { LockHeldError, LockLostError, RetrainRefusedError, TollgateError, UnavailableError } from '../../actors/errors';
import { evaluateBacktest, timeSplit } from '../../actors/retrain/evaluation';
import type { Saga } from '../../actors/retrain/behaviour';
import type { Refusal } from '../../actors/retrain/safeguards';
import { actorOf, type Principal } from '../../actors/principal';
import type { AuditLog } from '../audit/audit-store';
import type { Db } from '../../db/client';
import type { ActorClient } from '../actor-host/client';
import type { PortHandler } from '../actor-host/host';
import { encodeJson, PROTOCOL_VERSION } from '../actor-host/protocol';
import type { Bus } from '../ports/bus';
import type { Clock } from '../ports/clock';
import type { Lock, LockLease } from '../ports/lock';
import type { Signer } from '../ports/signer';
import type { Trainer } from '../ports/trainer';
import type { RegistryService } from '../registry/registry-service';
import type { ModelDto } from '../registry/dto';
import { signDigest, type FsArtifactStore } from './artifact-store';
import { GuardedWrites, RETRAIN_ACTOR, type Fence } from './guarded-writes';
import { merkleRoot } from './merkle';
import type { RetrainStore } from './retrain-store';
import { leafOf, Snapshots, type SnapshotSpec } from './snapshot';

/** The principal the saga moves model versions with. */
export const RETRAIN_PRINCIPAL: Principal = { kind: 'system', name: 'retrain', role: 'MANAGER' };

export interface RetrainPortDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  bus: Bus;
  actors: ActorClient;
  registry: RegistryService;
  lock: Lock;
  store: RetrainStore;
  artifacts: FsArtifactStore;
  signer: Signer;
  trainer: Trainer;
  log: Logger;
  prefix: string;
  /** Overrides the behaviour's lock TTL (tests use short ones); the lease is extended at a third of it. */
  lockTtlMs?: number;
}

interface Job {
  lease?: LockLease;
  extender?: NodeJS.Timeout;
  abort: AbortController;
}

/**
 * The I/O of the retrain saga, as the `retrain` port of the actor host.
 * `refuse`, `start` and `reset` answer the caller; the long steps
 * (snapshot, register, train, finish) run in the background and report
 * back to the tenant's retrain actor with the next message, so the actor
 * stays responsive (status, timeout) while a job trains.
 */
export class RetrainRunner {
  readonly #jobs = new Map<string, Job>();
  readonly #running = new Set<Promise<void>>();
  readonly #snapshots: Snapshots;
  readonly #writes: GuardedWrites;

  constructor(private readonly d: RetrainPortDeps) {
    this.#writes = new GuardedWrites(d.db, d.audit);
    this.#snapshots = new Snapshots(d.db, this.#writes, d.clock);
  }

  get port(): PortHandler {
    return async (op, raw) => {
      const args = raw as Record<string, unknown> & { tenantId: string; sagaId: string };
      switch (op) {
        case 'refuse':
          return this.#refuse(args as never);
        case 'start':
          return { result: await this.#start(args as never) };
        case 'reset':
          return this.#reset(args as never);
        case 'resume':
          // A saga whose job is not running here was orphaned by a stopped node.
          if (!this.#jobs.has(args.sagaId)) this.#tell(args.tenantId, { type: 'interrupted', sagaId: args.sagaId });
          return { result: null };
        case 'snapshot':
          this.#background(args.tenantId, args.sagaId, 'snapshotting', () => this.#snapshot(args as never));
          return { result: null };
        case 'register':
          this.#background(args.tenantId, args.sagaId, 'registering', () => this.#register(args as never));
          return { result: null };
        case 'train':
          this.#background(args.tenantId, args.sagaId, 'training', () => this.#train(args as never));
          return { result: null };
        case 'finish': {
          const saga = (args as unknown as { saga: Saga }).saga;
          this.#background(args.tenantId, saga.sagaId, 'finish', () => this.#finish(args as never), false);
          return { result: null };
        }
        default:
          throw new Error(`retrain port has no operation ${op}`);
      }
    };
  }

  /** Resolves when no background step is running (tests). */
  async idle(): Promise<void> {
    while (this.#running.size) await Promise.allSettled([...this.#running]);
  }

  /** Drops every job as a crash would: trainers cancelled, leases neither extended nor released. */
  async crash(): Promise<void> {
    for (const job of this.#jobs.values()) {
      if (job.extender) clearInterval(job.extender);
      job.abort.abort('node stopped');
    }
    this.#jobs.clear();
    await Promise.allSettled([...this.#running]);
  }

  /** Stops cleanly: running trainers are cancelled; their sagas fail on the next start. */
  stop(): Promise<void> {
    return this.crash();
  }

  #tell(tenantId: string, message: Record<string, unknown>): void {
    this.d.bus.publish(this.d.actors.subjectOf('retrain', tenantId), encodeJson({ v: PROTOCOL_VERSION, ...message }));
  }

  #background(tenantId: string, sagaId: string, step: string, fn: () => Promise<void>, reportFailure = true): void {
    const p = fn()
      .catch((err: unknown) => {
        this.d.log.warn({ err, tenantId, sagaId, step }, 'retrain step failed');
        if (!reportFailure) return;
        const code = err instanceof TollgateError ? err.code : 'INTERNAL';
        this.#tell(tenantId, { type: 'stepFailed', sagaId, step, code, message: (err as Error).message ?? String(err) });
      })
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  async #refuse(a: { tenantId: string; sagaId: string; trigger: string; reason: string; by: Principal; refusal: Refusal }): Promise<never> {
    await this.d.store.auditDecision(a.tenantId, actorOf(a.by), 'retrain.refused', {
      sagaId: a.sagaId,
      trigger: a.trigger,
      reason: a.reason,
      safeguard: a.refusal.safeguard,
      code: a.refusal.code,
      message: a.refusal.message,
      until: a.refusal.until ?? null,
    });
    if (a.refusal.code === 'BLOCK_RETRAINING') await this.d.store.raiseAlertOnce(a.tenantId, 'P3', 'retrain.quota', `BLOCK_RETRAINING: ${a.refusal.message}`, { sagaId: a.sagaId });
    throw new RetrainRefusedError(a.refusal.code, a.refusal.message, { details: { safeguard: a.refusal.safeguard, ...(a.refusal.until ? { until: a.refusal.until } : {}) } });
  }

  async #start(a: { tenantId: string; sagaId: string; trigger: string; reason: string; by: Principal; lockKey: string; ttlMs: number; deploy: boolean; breach: unknown }) {
    const ttl = this.d.lockTtlMs ?? a.ttlMs;
    let lease: LockLease;
    try {
      lease = await this.d.lock.acquire(a.lockKey, ttl);
    } catch (err) {
      const held = err instanceof LockHeldError;
      const message = held ? `another retrain of tenant ${a.tenantId} holds the mutex ${a.lockKey}` : `the retrain mutex is unavailable: ${(err as Error).message}`;
      const code = held ? 'LOCKED' : 'UNAVAILABLE';
      this.#tell(a.tenantId, { type: 'lockRefused', sagaId: a.sagaId, message });
      await this.d.store.auditDecision(a.tenantId, actorOf(a.by), 'retrain.refused', { sagaId: a.sagaId, trigger: a.trigger, reason: a.reason, safeguard: 'mutex', code, message });
      // Redis down is not a refusal by a safeguard: 503, retry later (fail closed: no job runs unlocked).
      if (!held) throw new UnavailableError(message, { cause: err });
      throw new RetrainRefusedError('LOCKED', message, { details: { safeguard: 'mutex' } });
    }
    const job: Job = { lease, abort: new AbortController() };
    job.extender = setInterval(() => {
      lease.extend(ttl).catch((err: unknown) => {
        this.d.log.warn({ err, tenantId: a.tenantId, sagaId: a.sagaId }, 'could not extend the retrain mutex');
        if (!(err instanceof LockLostError)) return; // Redis blip: the next extension may succeed; fenced writes guard meanwhile
        // Lost for good: stop training now rather than at the first fenced write.
        clearInterval(job.extender);
        job.abort.abort('the retrain mutex was lost');
        this.#tell(a.tenantId, { type: 'stepFailed', sagaId: a.sagaId, step: 'mutex', code: 'LOCK_LOST', message: `the retrain mutex ${a.lockKey} was lost: ${(err as Error).message}` });
      });
    }, Math.max(50, Math.floor(ttl / 3)));
    job.extender.unref();
    this.#jobs.set(a.sagaId, job);
    await this.d.store.auditDecision(a.tenantId, actorOf(a.by), 'retrain.started', {
      sagaId: a.sagaId,
      trigger: a.trigger,
      reason: a.reason,
      fencingToken: lease.fencingToken,
      deploy: a.deploy,
      breach: a.breach ?? null,
    });
    this.#tell(a.tenantId, { type: 'started', sagaId: a.sagaId, lease: { lockKey: lease.key, token: lease.fencingToken, owner: lease.owner } });
    return { sagaId: a.sagaId, tenantId: a.tenantId, status: 'RUNNING', step: 'starting', trigger: a.trigger, deploy: a.deploy, fencingToken: lease.fencingToken };
  }

  async #reset(a: { tenantId: string; by: Principal; reason: string; wasOpen: boolean; consecutiveErrors: number }) {
    await this.d.store.auditDecision(a.tenantId, actorOf(a.by), 'retrain.breaker.reset', { reason: a.reason, wasOpen: a.wasOpen, consecutiveErrors: a.consecutiveErrors });
    return { result: { tenantId: a.tenantId, circuit: 'CLOSED', wasOpen: a.wasOpen } };
  }

  async #snapshot(a: { tenantId: string; sagaId: string; fence: Fence; featureSignature: string; spec: SnapshotSpec }): Promise<void> {
    const snap = await this.#snapshots.take(a.fence, a.tenantId, a.featureSignature, a.spec);
    this.#tell(a.tenantId, { type: 'snapshotted', sagaId: a.sagaId, snapshotId: snap.id, rowCount: snap.rowCount, merkleRoot: snap.merkleRoot });
  }

  async #register(a: { tenantId: string; sagaId: string; fence: Fence; snapshotId: string; featureSignature: string; parentId: string | null; owner: string }): Promise<void> {
    const id = modelVersionIdOf(a.sagaId);
    await this.#writes.registerModelVersion(a.fence, {
      id,
      tenantId: a.tenantId,
      label: `retrain-${this.d.clock.now().toISOString().slice(0, 10)}-${a.sagaId.slice(0, 8)}`,
      owner: a.owner,
      featureSignature: a.featureSignature,
      parentId: a.parentId,
      snapshotId: a.snapshotId,
      createdAt: this.d.clock.now(),
    });
    // The same event the registry publishes for a version registered through the tenant actor.
    this.d.bus.publish(`${this.d.prefix}.evt.${a.tenantId}.model.registered`, encodeJson(await this.d.registry.getModel(id)));
    this.#tell(a.tenantId, { type: 'registered', sagaId: a.sagaId, modelVersionId: id });
  }

  async #train(a: { tenantId: string; sagaId: string; fence: Fence; snapshotId: string; modelVersionId: string; seed: number }): Promise<void> {
    const job = this.#jobs.get(a.sagaId) ?? { abort: new AbortController() };
    const snap = await this.#snapshots.load(a.snapshotId);
    const root = merkleRoot(snap.rows.map(leafOf)).toString('hex');
    if (root !== snap.merkleRoot || snap.rows.length !== snap.rowCount) {
      throw new TollgateError(`snapshot ${a.snapshotId} no longer matches its Merkle root: its learning events changed`);
    }
    await this.#moveModel(a.modelVersionId, 'TRAINING', a.sagaId, `retrain ${a.sagaId}: training on snapshot ${a.snapshotId}`);
    const { train, test } = timeSplit(snap.rows);
    const result = await this.d.trainer.train({ tenantId: a.tenantId, snapshotId: a.snapshotId, featureNames: snap.manifest.featureNames, train, test, seed: a.seed }, job.abort.signal);
    const stored = this.d.artifacts.put(a.tenantId, result.artifact);
    const sig = signDigest(this.d.signer, stored.sha256);
    await this.#writes.registerArtifact(a.fence, { tenantId: a.tenantId, modelVersionId: a.modelVersionId, sha256: stored.sha256, bytes: stored.bytes, ...sig, createdAt: this.d.clock.now() });
    const labelled = train.filter((r) => typeof r.actual === 'number');
    const trainMean = labelled.reduce((s, r) => s + r.actual!, 0) / Math.max(1, labelled.length);
    const evaluation = evaluateBacktest(test, result.predictions, trainMean);
    this.#tell(a.tenantId, { type: 'trained', sagaId: a.sagaId, artifactSha256: stored.sha256, usage: result.usage, evaluation: { ...evaluation, trainer: this.d.trainer.name, metrics: result.metrics } });
  }

  async #finish(a: { tenantId: string; saga: Saga; outcome: 'VALIDATED' | 'FAILED'; alerts: { quotaExceeded: boolean; circuitOpened: boolean; timedOut: boolean }; recovered: boolean; consecutiveErrors: number }): Promise<void> {
    const { saga, tenantId } = a;
    const job = this.#jobs.get(saga.sagaId);
    this.#jobs.delete(saga.sagaId);
    if (job?.extender) clearInterval(job.extender);
    job?.abort.abort(a.alerts.timedOut ? 'timeout' : 'saga finished');
    try {
      // The version id is derived from the saga: a version inserted just before a crash is found too.
      const model = await this.#findModel(saga.modelVersionId ?? modelVersionIdOf(saga.sagaId));
      if (model) {
        const why = saga.error ? `retrain ${saga.sagaId} failed at ${saga.error.step}: ${saga.error.message}` : `retrain ${saga.sagaId}: ${saga.evaluation?.reason ?? 'validated'}`;
        if (a.outcome === 'VALIDATED') await this.#moveModel(model.id, 'VALIDATED', saga.sagaId, why);
        else {
          if (model.state === 'DRAFT') await this.#moveModel(model.id, 'TRAINING', saga.sagaId, `${why} (closing the version)`);
          await this.#moveModel(model.id, 'FAILED', saga.sagaId, why);
        }
      }
    } finally {
      if (job?.lease) await job.lease.release();
      else if (saga.lease) await this.d.lock.releaseOwned(saga.lease.lockKey, saga.lease.owner);
    }
    const usage = saga.usage ?? { seconds: 0, gpuHours: 0, costUsd: 0 };
    await this.d.store.recordRun({ sagaId: saga.sagaId, tenantId, outcome: a.outcome, ...usage, startedAt: new Date(saga.startedAt) });
    await this.d.store.auditDecision(tenantId, RETRAIN_ACTOR, 'retrain.finished', {
      sagaId: saga.sagaId,
      outcome: a.outcome,
      modelVersionId: saga.modelVersionId ?? null,
      snapshotId: saga.snapshotId ?? null,
      artifactSha256: saga.artifactSha256 ?? null,
      usage,
      error: saga.error ?? null,
      recovered: a.recovered,
    });
    if (a.alerts.timedOut) await this.d.store.raiseAlert(tenantId, 'P3', 'retrain.timeout', `retrain ${saga.sagaId} ran past its timeout and was cancelled`, { sagaId: saga.sagaId });
    if (a.alerts.quotaExceeded) await this.d.store.raiseAlertOnce(tenantId, 'P3', 'retrain.quota', `BLOCK_RETRAINING: tenant ${tenantId} used its monthly retrain quota`, { sagaId: saga.sagaId, usage });
    if (a.alerts.circuitOpened) {
      await this.d.store.raiseAlert(tenantId, 'P3', 'retrain.circuit-open', `retraining disabled for tenant ${tenantId} after ${a.consecutiveErrors} consecutive failures; an ADMIN must reset it`, { sagaId: saga.sagaId });
    }
    const type = a.outcome === 'VALIDATED' ? 'retrain.validated' : 'retrain.failed';
    this.d.bus.publish(`${this.d.prefix}.evt.${tenantId}.${type}`, encodeJson({ sagaId: saga.sagaId, tenantId, modelVersionId: saga.modelVersionId ?? null, deploy: saga.deploy, error: saga.error ?? null, outcome: a.outcome, durationSeconds: Math.max(0, (this.d.clock.now().getTime() - new Date(saga.startedAt).getTime()) / 1000) }));
  }

  async #findModel(id: string): Promise<ModelDto | null> {
    try {
      return await this.d.registry.getModel(id);
    } catch {
      return null;
    }
  }

  /** Through the model-version actor, so the move is serialized with every other command on it. */
  async #moveModel(id: string, to: 'TRAINING' | 'VALIDATED' | 'FAILED', sagaId: string, reason: string): Promise<void> {
    const model = await this.d.registry.getModel(id);
    if (model.state === to) return;
    await this.d.actors.ask('model', id, { type: 'transition', by: RETRAIN_PRINCIPAL, to, reason, idempotencyKey: `${sagaId}:${to}`, expectedRevision: model.revision });
  }
}

/** The saga's model version id, derived from the saga id (a UUID in v4 layout). */
export function modelVersionIdOf(sagaId: string): string {
  const h = createHash('sha256').update(`tollgate-retrain-model:${sagaId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
