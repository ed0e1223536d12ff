import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema';

export type Schema = typeof schema;
/** The drizzle handle both drivers share. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Db;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Postgres connections per node (`TOLLGATE_DB_POOL_SIZE`). A node is one
 * event loop and postgres.js pipelines the queries of concurrent requests on
 * a connection, so a small pool writes several queries per socket write: on
 * the 2-core bench machine 4 connections carried about 30 % more transitions
 * per second than 20 (load-tests/RESULTS.md). Transactions each hold a
 * connection to their end.
 */
export const DEFAULT_POOL_SIZE = 4;

export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
// Serializes migrations when several nodes start at once.
const MIGRATION_LOCK_KEY = 74_201_001;

export interface OpenOptions {
  /** postgres://… — when absent, the embedded PGlite database is used. */
  url?: string;
  /** PGlite folder, or 'memory://' for a throwaway database. */
  embeddedDir?: string;
  /** Connection pool size for postgres.js. */
  poolSize?: number;
}

/** Opens the database and applies every committed migration. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize ?? DEFAULT_POOL_SIZE) : openPglite(options.embeddedDir ?? 'memory://');
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const migrator = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres({ client: migrator }), { migrationsFolder: MIGRATIONS_FOLDER });
    await migrator`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    await migrator.end({ timeout: 5 });
  }
  const client = postgres(url, { max: poolSize, onnotice: () => undefined });
  const db = drizzlePostgres({ client: preparing(client), schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * drizzle asks postgres.js not to prepare unnamed queries, and postgres.js
 * then describes every parameterized query before running it: two round
 * trips each. Our queries are parameterized with a bounded set of texts, so
 * prepared statements (cached per connection) halve the round trips.
 * (Behind PgBouncer in transaction mode before 1.21 this must be undone.)
 */
function preparing<T extends postgres.Sql>(sql: T): T {
  const unsafe = sql.unsafe.bind(sql);
  Object.assign(sql, {
    unsafe: (query: string, params?: unknown[], options?: object) => unsafe(query, params as never, { ...(options ?? {}), prepare: true }),
  });
  // Transactions (and their savepoints) hand out new handles: wrap those too.
  for (const method of ['begin', 'savepoint'] as const) {
    const original = (sql as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>)[method];
    if (typeof original !== 'function') continue;
    const bound = original.bind(sql);
    Object.assign(sql, {
      [method]: (...args: unknown[]) => {
        const fn = args.pop() as (tx: postgres.Sql) => unknown;
        return bound(...args, (tx: postgres.Sql) => fn(preparing(tx)));
      },
    });
  }
  return sql;
}

async function openPglite(dir: string): Promise<Database> {
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  const client = new PGlite(dir);
  await client.waitReady;
  const db = drizzlePglite({ client, schema });
  await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    kind: 'pglite',
    db: db as unknown as Db,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}
