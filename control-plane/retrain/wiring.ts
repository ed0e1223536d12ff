import { join } from 'node:path';
import type { Logger } from 'pino';
import { retrainBehaviour } from '../../actors/retrain/behaviour';
import { DEFAULT_RETRAIN_POLICY, type RetrainPolicy } from '../../actors/retrain/safeguards';
import type { Db } from '../../db/client';
import type { ActorClient } from '../actor-host/client';
import type { AuditLog } from '../audit/audit-store';
import { SqlFences } from '../lock/fences';
import { InProcessLock } from '../lock/in-process-lock';
import { RedlockLock } from '../lock/redlock-lock';
import type { Bus } from '../ports/bus';
import type { Clock } from '../ports/clock';
import type { Lock } from '../ports/lock';
import type { Signer } from '../ports/signer';
import type { DurableStreams } from '../ports/stream';
import type { Trainer } from '../ports/trainer';
import type { RegistryService } from '../registry/registry-service';
import { FsArtifactStore } from './artifact-store';
import { RetrainRunner } from './retrain-port';
import { RetrainService } from './retrain-service';
import { RetrainStore } from './retrain-store';
import { BuiltinTrainer } from './trainers/builtin-trainer';
import { scheduleRetention } from './retention';

export interface RetrainWiring {
  behaviour: ReturnType<typeof retrainBehaviour>;
  runner: RetrainRunner;
  service: RetrainService;
  store: RetrainStore;
  lock: Lock;
  artifacts: FsArtifactStore;
  close(): Promise<void>;
}

/** Builds the retraining pieces for one node (the composition root calls this). */
export function buildRetrain(d: {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  bus: Bus;
  streams?: DurableStreams;
  actors: ActorClient;
  registry: RegistryService;
  signer: Signer;
  log: Logger;
  prefix: string;
  dataDir: string;
  redisUrls?: readonly string[];
  policy?: RetrainPolicy;
  trainer?: Trainer;
  lock?: Lock;
  lockTtlMs?: number;
  /** Wraps the lock (acquire timings in /metrics). */
  instrumentLock?: (lock: Lock) => Lock;
}): RetrainWiring {
  const policy = d.policy ?? DEFAULT_RETRAIN_POLICY;
  const fences = new SqlFences(d.db);
  const baseLock = d.lock ?? (d.redisUrls?.length ? RedlockLock.fromUrls(d.redisUrls, fences) : new InProcessLock(fences, d.clock));
  const lock = d.instrumentLock ? d.instrumentLock(baseLock) : baseLock;
  const store = new RetrainStore(d.db, d.audit, d.clock, { cooldownDays: policy.cooldownDays, ...(d.streams ? { streams: d.streams } : {}), prefix: d.prefix });
  const artifacts = new FsArtifactStore(join(d.dataDir, 'artifacts'));
  const runner = new RetrainRunner({
    db: d.db,
    audit: d.audit,
    clock: d.clock,
    bus: d.bus,
    actors: d.actors,
    registry: d.registry,
    lock,
    store,
    artifacts,
    signer: d.signer,
    trainer: d.trainer ?? new BuiltinTrainer(),
    log: d.log,
    prefix: d.prefix,
    ...(d.lockTtlMs ? { lockTtlMs: d.lockTtlMs } : {}),
  });
  // Daily artifact retention (last 5 + champions kept; DRAFT/FAILED artifacts collected after 7 days).
  const stopRetention = scheduleRetention({ db: d.db, audit: d.audit, clock: d.clock, artifacts, onError: (err) => d.log.warn({ err }, 'artifact retention failed') });
  const service = new RetrainService(d.db, store, d.actors, d.bus, d.clock, d.log, policy, d.prefix);
  return {
    behaviour: retrainBehaviour(policy),
    runner,
    service,
    store,
    lock,
    artifacts,
    close: async () => {
      stopRetention();
      await runner.stop();
      if (!d.lock) await lock.close();
    },
  };
}
