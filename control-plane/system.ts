import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connect, type NatsConnection } from 'nats';
import pino, { type Logger } from 'pino';
import { openDatabase, type Database } from '../db/client';
import { createApp, type App } from '../gateway/app';
import { createMetrics } from '../gateway/metrics';
import type { ReadinessCheck } from '../gateway/routes/health';
import { NodeEd25519Signer } from './adapters/ed25519-signer';
import { AuditLog } from './audit/audit-store';
import type { Config } from './config';
import { IdentityService } from './identity/identity-service';
import { systemClock, type Clock } from './ports/clock';
import type { Signer } from './ports/signer';
import { RegistryService } from './registry/registry-service';

/** Everything one control-plane node runs, wired. */
export interface System {
  app: App;
  database: Database;
  registry: RegistryService;
  identity: IdentityService;
  signer: Signer;
  log: Logger;
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
      config.databaseUrl ? { url: config.databaseUrl } : { embeddedDir: options.embeddedDir ?? join(config.dataDir, 'pgdata') },
    );
    closers.push(() => database.close());
    readiness.push({ name: database.kind === 'postgres' ? 'postgres' : 'embedded-database', check: () => database.ping() });

    if (config.natsServers) {
      const nats = connectNatsInBackground(config.natsServers, log);
      closers.push(() => nats.close());
      readiness.push({ name: 'nats', check: () => nats.check() });
    }
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

    const signer = options.signer ?? NodeEd25519Signer.loadOrCreate(config.keyDir);
    const audit = new AuditLog(signer, clock);
    await audit.registerKey(database.db);
    const registry = new RegistryService(database.db, audit, clock);
    const identity = new IdentityService(database.db, audit, clock, config.bootstrapAdminToken);
    const firstAdminToken = await identity.ensureFirstAdmin();
    const metrics = createMetrics();
    const app = createApp({ db: database.db, registry, identity, metrics, log, readiness });

    return {
      app,
      database,
      registry,
      identity,
      signer,
      log,
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

/** Keeps the first-start admin token where its owner can find it again (0600). */
export function saveFirstAdminToken(dataDir: string, token: string): string {
  const file = join(dataDir, 'admin-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

/** A NATS connection that keeps trying in the background until closed. */
function connectNatsInBackground(servers: string[], log: Logger) {
  let nc: NatsConnection | null = null;
  let lastError = 'connecting';
  let closed = false;
  void connect({ servers, name: 'tollgate-control-plane', waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1_000 }).then(
    (conn) => {
      if (closed) return void conn.close();
      nc = conn;
      log.info({ servers }, 'connected to NATS');
    },
    (err: Error) => {
      lastError = err.message;
      log.error({ err: err.message }, 'NATS connection failed');
    },
  );
  return {
    check: async () => {
      if (!nc) throw new Error(`not connected (${lastError})`);
      if (nc.isClosed()) throw new Error('connection closed');
      await nc.flush();
    },
    close: async () => {
      closed = true;
      if (nc && !nc.isClosed()) await nc.drain();
    },
  };
}
