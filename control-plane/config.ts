import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_POOL_SIZE } from '../db/client';
import { parseRetrainEnv, type RetrainConfig } from './retrain/retrain-config';
import { parseAlertEnv, type AlertRoutingConfig } from './alerts/alert-config';

export const DEFAULT_PORT = 8080;
export const DEFAULT_DATA_DIR = './.tollgate';
export const DEFAULT_ORACLE_AUDIENCE = 'tollgate-oracle';
/** Demo time runs this many times faster than the wall clock: a simulated day every 30 s. */
export const DEFAULT_DEMO_SPEED = 2880;

const url = (schemes: string[]) =>
  z.string().refine((v) => {
    try {
      return schemes.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL with scheme ${schemes.join(' or ')}`);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_PORT),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  TOLLGATE_DB_POOL_SIZE: z.coerce.number().int().min(2, 'must be at least 2').max(200, 'must be at most 200').default(DEFAULT_POOL_SIZE),
  NATS_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s]+$/.test(u.trim())), 'must be nats://host:port (comma-separated for a cluster)'),
  REDIS_URLS: z
    .string()
    .optional()
    .refine((v) => v === undefined || v.split(',').every((u) => /^rediss?:\/\/[^\s]+$/.test(u.trim())), 'must be comma-separated redis://host:port URLs'),
  TOLLGATE_DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  TOLLGATE_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be one NATS subject token (letters, digits, _ or -)').default('tg'),
  TOLLGATE_KEY_DIR: z.string().min(1).optional(),
  TOLLGATE_DEMO: z.enum(['0', '1']).optional(),
  TOLLGATE_DEMO_SIMULATOR: z.enum(['0', '1']).default('1'),
  TOLLGATE_DEMO_SPEED: z.coerce.number().min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(DEFAULT_DEMO_SPEED),
  TOLLGATE_NODE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -').optional(),
  TOLLGATE_SHARDS: z.coerce.number().int().min(1).max(4096).default(64),
  TOLLGATE_PASSIVATE_AFTER_MS: z.coerce.number().int().min(1_000, 'must be at least 1000').default(300_000),
  TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  TOLLGATE_ORACLE_AUDIENCE: z.string().min(1).default(DEFAULT_ORACLE_AUDIENCE),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  /** postgres.js connections of this node (real Postgres only). */
  dbPoolSize: number;
  natsServers?: string[];
  redisUrls?: string[];
  dataDir: string;
  keyDir: string;
  /** First token of every NATS subject (several deployments can share a server). */
  subjectPrefix: string;
  /** The demo (simulated tenants on an accelerated clock): on by default on embedded defaults only. */
  demo: boolean;
  /** Simulated seconds per real second in demo mode. */
  demoSpeed: number;
  /** Demo mode: the node's own simulator plays the data plane (off: `tollgate demo` does). */
  demoSimulator: boolean;
  /** Idle actors are dropped from memory after this long. */
  passivateAfterMs: number;
  /** This node's name in the cluster; default: kept in the data folder. */
  nodeId?: string;
  /** Actor shards shared among nodes; every node of a deployment must agree. */
  shards: number;
  bootstrapAdminToken?: string;
  oracleAudience: string;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** Retrain safeguards and trainer (TOLLGATE_RETRAIN_*, TOLLGATE_TRAINER_COMMAND). */
  retrain: RetrainConfig;
  /** Alert webhooks per channel, retries, escalation sweep (TOLLGATE_ALERT_*). */
  alerts: AlertRoutingConfig;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the environment once; a bad value throws naming the variable. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  const retrain = parseRetrainEnv(cleaned);
  const alerts = parseAlertEnv(cleaned);
  if (!parsed.success || !retrain.ok || !alerts.ok) {
    const lines = [
      ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`)),
      ...(retrain.ok ? [] : retrain.issues),
      ...(alerts.ok ? [] : alerts.issues),
    ];
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.TOLLGATE_DATA_DIR);
  const split = (v?: string) => v?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    port: e.PORT,
    host: e.HOST,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    dbPoolSize: e.TOLLGATE_DB_POOL_SIZE,
    ...(e.NATS_URL ? { natsServers: split(e.NATS_URL)! } : {}),
    ...(e.REDIS_URLS ? { redisUrls: split(e.REDIS_URLS)! } : {}),
    dataDir,
    subjectPrefix: e.TOLLGATE_SUBJECT_PREFIX,
    keyDir: resolve(e.TOLLGATE_KEY_DIR ?? `${dataDir}/keys`),
    // Unset: on for the embedded defaults (`npm start`), off when real services are configured.
    demo: e.TOLLGATE_DEMO === undefined ? !e.DATABASE_URL && !e.NATS_URL : e.TOLLGATE_DEMO === '1',
    demoSpeed: e.TOLLGATE_DEMO_SPEED,
    demoSimulator: e.TOLLGATE_DEMO_SIMULATOR === '1',
    passivateAfterMs: e.TOLLGATE_PASSIVATE_AFTER_MS,
    ...(e.TOLLGATE_NODE_ID ? { nodeId: e.TOLLGATE_NODE_ID } : {}),
    shards: e.TOLLGATE_SHARDS,
    ...(e.TOLLGATE_BOOTSTRAP_ADMIN_TOKEN ? { bootstrapAdminToken: e.TOLLGATE_BOOTSTRAP_ADMIN_TOKEN } : {}),
    oracleAudience: e.TOLLGATE_ORACLE_AUDIENCE,
    logLevel: e.LOG_LEVEL,
    retrain: retrain.value,
    alerts: alerts.value,
  };
}
