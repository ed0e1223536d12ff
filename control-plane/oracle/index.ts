import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Db } from '../../db/client';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import type { Admission } from '../ports/admission';
import type { Signer } from '../ports/signer';
import { ClusterTraffic } from './cluster-traffic';
import { ExposureService, type VerifyUnlock } from './exposure-service';
import { PartnerTokenVerifier } from './partner-token';
import { PartnerRegistry } from './partners';
import { RedisAdmission, RememberingAdmission, SequentialAdmission } from './admission';
import { InProcessRateLimiter } from './rate-limiters';
import { RefusalRecorder } from './refusals';
import { InProcessReplayCache } from './replay-caches';
import { SnapshotService, type SnapshotOptions } from './snapshots';
import { StateVerifier } from './state-verifier';

export { ExposureService, refuseAllUnlocks, type VerifyUnlock } from './exposure-service';
export { PartnerRegistry } from './partners';
export { SnapshotService } from './snapshots';

/** What the lead wires in from other services (all optional; defaults refuse or say null). */
import type { AlertInput } from '../alerts/raise-alert';

export interface OracleHooks extends Pick<SnapshotOptions, 'latestDrift' | 'canaryState'> {
  verifyUnlock?: VerifyUnlock;
  /** Routes breaker and split-view alerts to people (the shared raiseAlert). */
  raiseAlert?: (input: AlertInput) => Promise<unknown>;
}

export interface OracleConfig {
  audience: string;
  /** Redis for the jti cache and rate limits (shared by nodes); absent → in-process adapters. */
  redisUrl?: string;
  /** Prefix of every Redis key the oracle writes. */
  keyPrefix: string;
  /** This node's id (its rows of the shared traffic figures). */
  nodeId: string;
}

const REFRESH_MS = 5_000;
const BREAKER_CHECK_MS = 10_000;
const STATE_CHECK_MS = 30_000;
const REDIS_READY_WAIT_MS = 3_000;

/** The oracle's services, built once per node by the composition root. */
export async function buildOracle(deps: { db: Db; audit: AuditLog; signer: Signer; clock: Clock; metrics: Registry; log: Logger; config: OracleConfig; hooks?: OracleHooks }) {
  const { db, audit, clock, log, config } = deps;
  const partners = new PartnerRegistry(db, audit);
  const cluster = new ClusterTraffic(db, config.nodeId);
  const exposure = new ExposureService(db, audit, clock, partners, { verifyUnlock: deps.hooks?.verifyUnlock, raise: deps.hooks?.raiseAlert, cluster });
  await partners.refresh();
  await exposure.load();
  const snapshots = new SnapshotService(db, audit, deps.signer, clock, deps.hooks ?? {});
  await snapshots.tree.refresh(true);

  let redis: Redis | null = null;
  let admission: Admission;
  if (config.redisUrl) {
    // No offline queue and a short command timeout: with Redis away a request
    // fails closed at once instead of waiting for a reconnect.
    redis = new Redis(config.redisUrl, { enableOfflineQueue: false, enableAutoPipelining: true, maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: (n) => Math.min(n * 200, 2_000) });
    redis.on('error', (err) => log.warn({ err: err.message }, 'oracle redis connection error'));
    // Start with a connected cache when Redis answers soon; if not, requests fail closed (503) until it does.
    const client = redis;
    await new Promise<void>((resolve) => {
      const done = () => (clearTimeout(timer), client.off('ready', done), resolve());
      const timer = setTimeout(done, REDIS_READY_WAIT_MS);
      client.once('ready', done);
    });
    admission = new RememberingAdmission(new RedisAdmission(redis, config.keyPrefix));
  } else {
    admission = new SequentialAdmission(new InProcessReplayCache(clock), new InProcessRateLimiter());
  }
  const refusals = new RefusalRecorder(deps.metrics, db, audit, clock, (err) => log.warn({ err }, 'could not audit an oracle refusal'));
  const verifier = new PartnerTokenVerifier({ audience: config.audience, clock, partner: (id) => partners.get(id) });

  const refresh = setInterval(() => {
    void Promise.all([partners.refresh(), exposure.load()]).catch((err: unknown) => log.warn({ err }, 'oracle refresh failed'));
  }, REFRESH_MS);
  const breakers = setInterval(() => {
    void exposure
      .checkBreakers()
      .finally(() => cluster.prune(clock.now().getTime()).catch(() => undefined))
      .then((moved) => moved && log.error({ stage: moved.stage, reason: moved.reason }, 'oracle breaker tripped: exposure reverted'))
      .catch((err: unknown) => log.warn({ err }, 'oracle breaker check failed'));
  }, BREAKER_CHECK_MS);
  const stateVerifier = new StateVerifier(db, snapshots);
  /** Runs the StateVerifier; any mismatch trips the exposure back (P1). */
  const verifyState = async () => {
    const problems = await stateVerifier.check();
    if (problems.length === 0) return problems;
    log.error({ problems }, 'oracle StateVerifier: served state disagrees with the audit log');
    await exposure.trip('state-verifier', problems.map((p) => `${p.tenantId}: ${p.problem}`).join('; ').slice(0, 1_000));
    return problems;
  };
  const stateChecks = setInterval(() => void verifyState().catch((err: unknown) => log.warn({ err }, 'oracle StateVerifier failed')), STATE_CHECK_MS);
  refresh.unref();
  breakers.unref();
  stateChecks.unref();

  return {
    partners,
    exposure,
    snapshots,
    auth: { verifier, admission, exposure, refusals, clock },
    verifyState,
    close: async () => {
      clearInterval(stateChecks);
      clearInterval(refresh);
      clearInterval(breakers);
      refusals.flushSummaries();
      if (redis) {
        if (redis.status === 'ready') await redis.quit().catch(() => redis!.disconnect());
        else redis.disconnect();
      }
    },
  };
}
export type Oracle = Awaited<ReturnType<typeof buildOracle>>;
