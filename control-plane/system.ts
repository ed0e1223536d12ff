import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { modelVersionBehaviour } from '../actors/model-version/behaviour';
import { tenantBehaviour } from '../actors/tenant/behaviour';
import { ActorClient } from './actor-host/client';
import { ActorHost } from './actor-host/host';
import { hostMetrics } from './actor-host/metrics';
import { ShardLeaseManager } from './actor-host/shards';
import { leadershipOf, type ClusterLeadership } from './actor-host/leadership';
import { SqlActorStore } from './adapters/sql-actor-store';
import { InProcessBus } from './bus/in-process-bus';
import { NatsBus } from './bus/nats-bus';
import type { Bus } from './ports/bus';
import type { DurableStreams } from './ports/stream';
import { ensureCoreStreams } from './streams/core-streams';
import { JetStreamStreams } from './streams/jetstream-streams';
import { SqlStreams } from './streams/sql-streams';
import { registryPort } from './registry/registry-port';
import { IngestionService } from './ingestion/ingest';
import { consumeLearningEvents } from './ingestion/learning-consumer';
import { SourceRegistry } from './ingestion/sources';
import { driftMetrics } from './drift/drift-metrics';
import { driftPort } from './drift/drift-port';
import { DriftService } from './drift/drift-service';
import { raiseAlert, type AlertInput } from './alerts/raise-alert';
import { RoutingTable } from './routing/routing-table';
import { AlertService } from './alerts/alert-service';
import { alertRouterMetrics, startAlertRouter } from './alerts/alert-router';
import { AlertEscalator } from './alerts/escalation';
import { SloMonitor, SLO_PRINCIPAL, type PromotionGlance } from './observability/slo-monitor';
import { IllegalTransitionError } from '../actors/errors';
import { canaryMetrics, dependencyHealthMetrics, lockMetrics, retrainMetrics, transitionMetrics } from './observability/platform-metrics';
import { promotionPort } from './promotion/promotion-port';
import { PromotionService } from './promotion/promotion-service';
import { startPromotionsOnShadow } from './promotion/promotion-starter';
import pino, { type Logger } from 'pino';
import { openDatabase, type Database } from '../db/client';
import { createApp, type App } from '../gateway/app';
import { createMetrics } from '../gateway/metrics';
import type { ReadinessCheck } from '../gateway/routes/health';
import { NodeEd25519Signer } from './adapters/ed25519-signer';
import { RotatingSigner } from './adapters/rotating-signer';
import { NodeKeyRotation } from './keys/node-key-rotation';
import { AuditLog } from './audit/audit-store';
import type { Config } from './config';
import { IdentityService } from './identity/identity-service';
import { systemClock, type Clock } from './ports/clock';
import type { Signer } from './ports/signer';
import { RegistryService } from './registry/registry-service';
import { buildRetrain, type RetrainWiring } from './retrain/wiring';
import { CommandTrainer } from './retrain/trainers/command-trainer';
import type { RetrainPolicy } from '../actors/retrain/safeguards';
import type { Trainer } from './ports/trainer';
import { buildGovernance, runGoverned, unlockSubject, type Governance } from './governance';
import { ForbiddenError } from '../actors/errors';
import { encodeJson } from './actor-host/protocol';
import { buildOracle, type Oracle, type OracleHooks } from './oracle';
import { FlagService } from './flags/flag-service';
import type { LiveDeps } from './live';

/** Everything one control-plane node runs, wired. */
export interface System {
  app: App;
  database: Database;
  registry: RegistryService;
  drift: DriftService;
  routing: RoutingTable;
  identity: IdentityService;
  governance: Governance;
  audit: AuditLog;
  host: ActorHost;
  bus: Bus;
  streams: DurableStreams;
  signer: Signer;
  oracle: Oracle;
  log: Logger;
  retrain: RetrainWiring;
  /** Feature flags (issue #11); `attachFlagsNamespace(io, { flags, identity, bus, prefix, log })` serves them live. */
  flags: FlagService;
  /** What the live console channel (`attachLive`) needs from this node. */
  live: LiveDeps;
  /** Escalates unacknowledged alerts past their SLA (its sweep runs on the clock; tests may call `sweep()`). */
  escalator: AlertEscalator;
  /** SLO monitors (sweep on the clock; tests may call `sweep()`). */
  slo: SloMonitor;
  /** Shard leases when several nodes share the actors (with NATS); null when the node is alone. */
  leases: ShardLeaseManager | null;
  /** Whether this node runs the cluster-wide monitors: the holder of shard 0's lease, or a node alone. */
  leadership: ClusterLeadership;
  /** The first-start admin token, when this start created it. */
  firstAdminToken: string | null;
  close(): Promise<void>;
}

export interface BuildOptions {
  clock?: Clock;
  signer?: Signer;
  log?: Logger;
  /** PGlite folder override (tests use 'memory://'). */
  embeddedDir?: string;
  /** Retrain safeguards and trainer overrides (tests). */
  retrain?: { policy?: RetrainPolicy; trainer?: Trainer; lockTtlMs?: number };
  /** Oracle wiring from other services (drift summary, canary state, governance unlocks). */
  oracle?: OracleHooks;
}

/**
 * The composition root: builds the real clients (or the embedded ones) from
 * the config and passes them into services and the HTTP app.
 */
export async function buildSystem(config: Config, options: BuildOptions = {}): Promise<System> {
  const log = options.log ?? pino({ level: config.logLevel, base: { service: 'tollgate' } });
  const clock = options.clock ?? systemClock;
  const closers: Array<() => Promise<void>> = [];
  const readiness: ReadinessCheck[] = [];
  try {
    const database = await openDatabase(
      config.databaseUrl ? { url: config.databaseUrl, poolSize: config.dbPoolSize } : { embeddedDir: options.embeddedDir ?? join(config.dataDir, 'pgdata') },
    );
    closers.push(() => database.close());
    readiness.push({ name: database.kind === 'postgres' ? 'postgres' : 'embedded-database', check: () => database.ping() });

    let bus: Bus;
    let streams: DurableStreams;
    if (config.natsServers) {
      // Commands need the bus: NATS must answer to start (main retries); later
      // outages are nats.js reconnects, and /readyz says so meanwhile.
      const nc = await connect({ servers: config.natsServers, name: 'tollgate-control-plane', maxReconnectAttempts: -1, reconnectTimeWait: 1_000, timeout: 5_000 });
      bus = new NatsBus(nc);
      closers.push(() => bus.close());
      streams = new JetStreamStreams(nc, { ownsConnection: false });
      readiness.push({
        name: 'nats',
        check: async () => {
          if (nc.isClosed()) throw new Error('connection closed');
          await nc.flush();
        },
      });
    } else {
      bus = new InProcessBus();
      closers.push(() => bus.close());
      streams = new SqlStreams(database.db);
    }
    closers.push(() => streams.close());
    await ensureCoreStreams(streams, config.subjectPrefix);
    for (const [i, url] of (config.redisUrls ?? []).entries()) {
      // Connects (and reconnects) in the background: /readyz says when it is down.
      const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (n) => Math.min(n * 200, 2_000) });
      redis.on('error', (err) => log.warn({ err: err.message, redis: url }, 'redis connection error'));
      closers.push(async () => {
        if (redis.status === 'ready') await redis.quit();
        else redis.disconnect();
      });
      readiness.push({ name: (config.redisUrls?.length ?? 0) > 1 ? `redis-${i}` : 'redis', check: async () => void (await redis.ping()) });
    }

    // One signer object for every service, so a governed key rotation reaches them all.
    const signer = new RotatingSigner(options.signer ?? NodeEd25519Signer.loadOrCreate(config.keyDir));
    const audit = new AuditLog(database.db, signer, clock, (err) => log.warn({ err }, 'audit sequencing failed; retrying'));
    audit.start();
    closers.push(() => audit.flush().finally(() => audit.stop()));
    await audit.registerKey(database.db);
    const alert = (input: AlertInput) => raiseAlert(database.db, streams, config.subjectPrefix, input, clock.now());
    const registry = new RegistryService(database.db, audit, clock, alert);
    const identity = new IdentityService(database.db, audit, clock, config.bootstrapAdminToken);
    const firstAdminToken = await identity.ensureFirstAdmin();
    const governance = buildGovernance(
      database.db,
      audit,
      clock,
      registry,
      log.child({ component: 'governance' }),
      (u) => bus.publish(unlockSubject(config.subjectPrefix, u.id), encodeJson(u)),
      (tenantId, type, data) => bus.publish(`${config.subjectPrefix}.evt.${tenantId}.${type}`, encodeJson(data)),
    );
    const metrics = createMetrics();
    dependencyHealthMetrics(metrics.registry, readiness);
    const stopTransitionMetrics = transitionMetrics(metrics.registry, log.child({ component: 'registry' }));
    closers.push(async () => stopTransitionMetrics());
    const retrainRuns = retrainMetrics(metrics.registry, bus, config.subjectPrefix, (seconds, tenantId, sagaId) => slo.retrainFinished(seconds, tenantId, sagaId));
    closers.push(async () => retrainRuns.unsubscribe());
    const promotion = new PromotionService({ db: database.db, registry, audit, bus, clock, prefix: config.subjectPrefix, log, alert, monthlyBudgetUsd: config.retrain.policy.spendUsdPerMonth, onCanaryPValue: canaryMetrics(metrics.registry) });
    const drift = new DriftService({ db: database.db, signer, audit, streams, bus, clock, prefix: config.subjectPrefix, log, metrics: driftMetrics(metrics.registry, (seconds, tenantId) => slo.driftDetected(seconds, tenantId)) });

    const nodeId = config.nodeId ?? stableNodeId(config.dataDir);
    // With NATS, several nodes may share the actors: each runs the shards it leases.
    const leases = config.natsServers
      ? new ShardLeaseManager(database.db, {
          nodeId,
          shardCount: config.shards,
          log,
          onGained: (shards) => host.adopt(shards),
          onLost: (shards) => host.relinquish(shards),
        })
      : null;
    const leadership = leadershipOf(leases);
    const actors = new ActorClient(bus, config.subjectPrefix);
    // SLO monitors: a canary past its rollout window is stopped through the promotion's kill switch.
    // One node judges them for the cluster; the others forward their HTTP counts to it.
    const slo: SloMonitor = new SloMonitor({
      ...(leases ? { cluster: { leadership, bus, subject: `${config.subjectPrefix}.slo.http-answers` } } : {}),
      db: database.db,
      audit,
      clock,
      log: log.child({ component: 'slo' }),
      registry: metrics.registry,
      alert,
      promotionOf: (modelId) => actors.ask<PromotionGlance | null>('model', modelId, { type: 'promotionStatus' }),
      rollbackCanary: async (modelId, reason) => {
        try {
          await actors.ask('model', modelId, { type: 'killPromotion', by: SLO_PRINCIPAL, reason });
        } catch (err) {
          if (!(err instanceof IllegalTransitionError)) throw err;
          // A canary without a promotion (moved by hand): fail it through the registry.
          const model = await registry.getModel(modelId);
          await registry.transition(modelId, { to: 'FAILED', reason, idempotencyKey: `slo-rollout-window:${modelId}`, expectedRevision: model.revision }, SLO_PRINCIPAL);
        }
      },
    });
    metrics.answered.add((status) => slo.httpAnswered(status));
    slo.start();
    closers.push(() => slo.stop());
    const retrain = buildRetrain({
      db: database.db, audit, clock, bus, streams, actors, registry, signer, log,
      prefix: config.subjectPrefix, dataDir: config.dataDir,
      ...(config.redisUrls ? { redisUrls: config.redisUrls } : {}),
      policy: config.retrain.policy,
      instrumentLock: lockMetrics(metrics.registry),
      ...(config.retrain.trainerCommand ? { trainer: new CommandTrainer({ command: config.retrain.trainerCommand[0]!, args: config.retrain.trainerCommand.slice(1) }) } : {}),
      ...options.retrain,
    });
    closers.push(() => retrain.close());
    // After a production rollback, the rolled-back feature signature may not be retrained for 7 days.
    registry.onRollback(async (o) => {
      await retrain.store.blacklistAfterRollback(o.tenant.id, o.rolledBack.featureSignature, `production rollback of ${o.rolledBack.id}: ${o.reason}`);
    });
    const host: ActorHost = new ActorHost({
      bus,
      store: new SqlActorStore(database.db),
      clock,
      log,
      ports: { registry: registryPort(registry), drift: driftPort(drift), promotion: promotionPort(promotion), retrain: retrain.runner.port },
      metrics: hostMetrics(metrics.registry, () => host.resident, () => host.mailboxes),
      ...(leases ? { ownership: leases } : {}),
      prefix: config.subjectPrefix,
      passivateAfterMs: config.passivateAfterMs,
      queueGroup: `${config.subjectPrefix}-actors`,
    });
    host.register(tenantBehaviour);
    host.register(modelVersionBehaviour);
    host.register(retrain.behaviour);
    if (leases) {
      await leases.start();
      closers.push(() => leases.stop());
    } else await host.start();
    await host.preload('tenant', await registry.tenantIds());
    await host.preload('model', await registry.liveModelIds());
    closers.push(() => host.stop());
    const breaches = retrain.service.listenForBreaches();
    closers.push(async () => breaches.unsubscribe());
    await retrain.service.resumeInterrupted();
    const sweep = setInterval(() => host.passivateIdle(), Math.min(30_000, config.passivateAfterMs));
    sweep.unref();
    closers.push(async () => clearInterval(sweep));
    const routing = new RoutingTable(database.db, bus, config.subjectPrefix, log);
    await routing.start();
    closers.push(async () => routing.stop());
    const promotions = startPromotionsOnShadow({ bus, actors, registry, prefix: config.subjectPrefix, log });
    closers.push(async () => promotions.unsubscribe());

    const sources = new SourceRegistry(database.db, audit);
    const ingestion = new IngestionService(database.db, streams, sources, registry, audit, clock, config.subjectPrefix);
    const learning = await consumeLearningEvents(streams, database.db, config.subjectPrefix, log, (tenantId, events) =>
      actors.ask('tenant', tenantId, { type: 'observe', events }),
    );
    closers.push(() => learning.stop());

    const oracle = await buildOracle({
      db: database.db,
      audit,
      signer,
      clock,
      metrics: metrics.registry,
      log,
      config: { audience: config.oracleAudience, nodeId, keyPrefix: `${config.subjectPrefix}:oracle:`, ...(config.redisUrls?.[0] ? { redisUrl: config.redisUrls[0] } : {}) },
      hooks: {
        raiseAlert: alert,
        latestDrift: async (tenantId) => {
          const [r] = await drift.listReports(tenantId, { limit: 1 });
          return r ? { day: r.day, score: r.report.score, driftScore: r.report.driftScore, level: r.report.level, breach: r.report.breach, reportId: r.id, digest: r.digest } : null;
        },
        canaryState: async (tenantId) => {
          const canary = routing.routesOf(tenantId)?.canary;
          return canary ? { modelVersionId: canary.id, trafficPercent: canary.trafficPercent, modelHash: canary.modelHash } : null;
        },
        // OPEN is governance-locked (unless a governance-signed change took it off the list):
        // the unlock is verified against the committee key and spent.
        verifyUnlock: async (unlockId, { params }) => {
          if (params.stage !== 'OPEN') return false;
          const by = { kind: 'system' as const, name: 'oracle-exposure', role: 'ADMIN' as const };
          try {
            await runGoverned(database.db, audit, by, (tx) => governance.gate.requireUnlock(tx, 'oracle.exposure.open', { stage: 'OPEN' }, unlockId, by));
            return true;
          } catch (err) {
            if (err instanceof ForbiddenError) return false;
            throw err;
          }
        },
        ...options.oracle,
      },
    });
    closers.push(() => oracle.close());

    // Alert routing: the durable consumer delivers to the channels' webhooks; the sweep escalates past the SLA.
    const alertLog = log.child({ component: 'alerts' });
    const alertRouter = await startAlertRouter({ db: database.db, streams, clock, log: alertLog, prefix: config.subjectPrefix, config: config.alerts, metrics: alertRouterMetrics(metrics.registry) });
    closers.push(() => alertRouter.stop());
    const escalator = new AlertEscalator({ db: database.db, audit, streams, clock, log: alertLog, prefix: config.subjectPrefix, config: config.alerts, registry: metrics.registry });
    escalator.start();
    closers.push(() => escalator.stop());

    const keyRotation = new NodeKeyRotation({ db: database.db, audit, gate: governance.gate, signer, keyDir: options.signer ? null : config.keyDir, log });
    const flags = new FlagService({ db: database.db, audit, clock, bus, prefix: config.subjectPrefix, log: log.child({ component: 'flags' }), alert });
    const app = createApp({ db: database.db, audit, registry, identity, governance, actors, ingestion, sources, drift, routing, alerts: new AlertService(database.db, audit, clock), metrics, log, readiness, retrain: retrain.service, oracle, flags, signer, keyRotation, clock: { now: () => clock.now(), speed: (clock as { speed?: number }).speed ?? 1 } });

    return {
      app,
      database,
      registry,
      drift,
      routing,
      identity,
      governance,
      audit,
      host,
      bus,
      streams,
      signer,
      oracle,
      log,
      retrain,
      flags,
      live: { db: database.db, bus, identity, clock, prefix: config.subjectPrefix, log },
      escalator,
      slo,
      leases,
      leadership,
      firstAdminToken,
      close: async () => {
        for (const close of closers.reverse()) await close().catch((err: unknown) => log.warn({ err }, 'error while closing'));
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

/** A node id kept in the data folder, so a restarted node takes its leases up again at once. */
function stableNodeId(dataDir: string): string {
  const file = join(dataDir, 'node-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/** Keeps the first-start admin token where its owner can find it again (0600). */
export function saveFirstAdminToken(dataDir: string, token: string): string {
  const file = join(dataDir, 'admin-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}
