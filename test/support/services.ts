import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Decides whether an integration suite runs. Under CI=true a missing service
 * fails the run; elsewhere the suite is skipped, loudly, with the reason.
 */
export async function requireService(name: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (inCi) throw new Error(`${name} is required under CI=true but is unreachable: ${why}`);
    console.warn(`\n!!! SKIPPED: ${name} unreachable (${why}); integration suite not run. Start it with scripts/services.sh\n`);
    return false;
  }
}

/** A fresh Postgres database for one suite; `drop()` removes it. */
export async function createTestDatabase(label: string): Promise<{ url: string; drop(): Promise<void> } | null> {
  const admin = postgres(ADMIN_DATABASE_URL, { max: 1, onnotice: () => undefined, connect_timeout: 3 });
  const ok = await requireService('PostgreSQL', async () => {
    await admin`select 1`;
  });
  if (!ok) {
    await admin.end({ timeout: 1 });
    return null;
  }
  const name = `tg_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** PostgreSQL reachable (see requireService for what happens when it is not). */
export function requirePostgres(): Promise<boolean> {
  return requireService('PostgreSQL', async () => {
    const probe = postgres(ADMIN_DATABASE_URL, { max: 1, onnotice: () => undefined, connect_timeout: 3 });
    try {
      await probe`select 1`;
    } finally {
      await probe.end({ timeout: 1 });
    }
  });
}

/** NATS reachable. */
export function requireNats(): Promise<boolean> {
  return requireService('NATS', async () => {
    const { connect } = await import('nats');
    await (await connect({ servers: NATS_URL, timeout: 2000 })).close();
  });
}

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Redis reachable. */
export function requireRedis(): Promise<boolean> {
  return requireService('Redis', async () => {
    const { Redis } = await import('ioredis');
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
    try {
      await probe.connect();
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  });
}

/** A random key prefix so suites sharing the Redis server never see each other's keys. */
export function testRedisPrefix(label: string): string {
  return `test:${label}:${randomBytes(4).toString('hex')}:`;
}

/**
 * Environment for a whole system on the real services, isolated for one
 * suite: a fresh database, its own NATS subject prefix; `cleanup` deletes the
 * JetStream streams it made and drops the database.
 */
export async function realServicesEnv(label: string, extra: Record<string, string> = {}): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const db = await createTestDatabase(label);
  if (!db) throw new Error('PostgreSQL is unreachable (checked before the suite is defined)');
  const prefix = `${label.replace(/[^a-z0-9]/g, '').slice(0, 8)}${process.pid}`;
  return {
    env: { DATABASE_URL: db.url, NATS_URL, TOLLGATE_SUBJECT_PREFIX: prefix, ...extra },
    cleanup: async () => {
      const { connect } = await import('nats');
      const nc = await connect({ servers: NATS_URL });
      const jsm = await nc.jetstreamManager();
      for (const name of [`${prefix}_LEARNING`, `${prefix}_ALERTS`]) await jsm.streams.delete(name).catch(() => false);
      await nc.close();
      await db.drop();
    },
  };
}
