import { mkdirSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pino from 'pino';
import { ConfigError, parseConfig, type Config } from './config';
import { buildSystem, saveFirstAdminToken, type System } from './system';
import { httpServerOptions } from '../gateway/server-limits';
import type { Server as HttpServer } from 'node:http';
import type { LiveChannel } from './live';
import { attachLiveChannels } from './live-channels';
import { startTracing, TracingConfigError, type Tracing } from './observability/tracing-setup';
import { openDemoClock, startDemo, type RunningDemo } from './demo';

const DRAIN_TIMEOUT_MS = 10_000;

/**
 * `npm start`: the HTTP server listens at once (so /healthz answers while the
 * database migrates), then the system is built and takes over the traffic.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`tollgate: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  // OpenTelemetry from the standard OTEL_* variables; off (the API's no-op) unless an exporter is named.
  let tracing: Tracing;
  try {
    tracing = startTracing();
  } catch (err) {
    if (err instanceof TracingConfigError) {
      console.error(`tollgate: invalid configuration:\n  ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  // `npm start -- --no-demo` starts clean, like TOLLGATE_DEMO=0.
  if (process.argv.slice(2).includes('--no-demo')) config = { ...config, demo: false };
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const log = pino({ level: config.logLevel, base: { service: 'tollgate' } });
  if (tracing.exporter) log.info({ exporter: tracing.exporter }, 'OpenTelemetry tracing on');
  // Demo mode only: the node runs on an accelerated clock that resumes where the last run left it.
  const demoClock = config.demo ? openDemoClock(config.dataDir, config.demoSpeed) : null;
  const clockSaver = demoClock ? setInterval(() => demoClock.save(), 2_000) : null;
  clockSaver?.unref();
  let demo: RunningDemo | null = null;

  let system: System | null = null;
  let live: LiveChannel | null = null;
  let startupProblem = 'starting';
  const starting = new Hono()
    .get('/healthz', (c) => c.json({ status: 'starting' }))
    .get('/readyz', (c) => c.json({ status: 'starting', message: `not ready: ${startupProblem}` }, 503))
    .all('*', (c) => c.json({ error: { code: 'UNAVAILABLE', message: `tollgate is starting (${startupProblem}); retry in a moment` } }, 503));
  const server = serve(
    { fetch: (req, env) => (system ? system.app.fetch(req, env) : starting.fetch(req, env)), port: config.port, hostname: config.host, serverOptions: httpServerOptions() },
    (info) => log.info({ port: info.port, host: config.host }, `listening on http://${config.host}:${info.port}`),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    const forced = setTimeout(() => {
      log.warn('drain timed out; closing remaining connections');
      (server as import('node:http').Server).closeAllConnections?.();
    }, DRAIN_TIMEOUT_MS);
    forced.unref();
    await demo?.stop().catch((err: unknown) => log.warn({ err }, 'demo: error while stopping'));
    // Live sockets would hold the server open: end them first.
    await live?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await system?.close();
    if (clockSaver) clearInterval(clockSaver);
    demoClock?.save();
    await tracing.shutdown().catch((err: unknown) => log.warn({ err }, 'could not flush the last spans'));
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  // The database must be reachable to start; until it is, retry with backoff
  // while /healthz answers and /readyz says what is missing.
  for (let attempt = 1, delay = 1_000; !stopping; attempt++, delay = Math.min(delay * 2, 15_000)) {
    try {
      const built = await buildSystem(config, { log, ...(demoClock ? { clock: demoClock.clock } : {}) });
      if (stopping) return void (await built.close());
      if (built.firstAdminToken) {
        const file = saveFirstAdminToken(config.dataDir, built.firstAdminToken);
        console.log(`\n  First start: an ADMIN named "admin" was created.\n  Token (shown once, also saved to ${file}):\n\n    ${built.firstAdminToken}\n`);
      }
      system = built;
      // The live channel (socket.io at /live): the console's namespace and /flags.
      live = attachLiveChannels(server as HttpServer, built);
      log.info({ database: built.database.kind, kid: built.signer.kid }, 'tollgate ready');
      if (demoClock) {
        try {
          demo = await startDemo({ system: built, dataDir: config.dataDir, clock: demoClock.clock, log, simulate: config.demoSimulator });
          if (stopping) await demo.stop();
          else if (demo.banner) console.log(demo.banner);
        } catch (err) {
          log.error({ err }, 'demo: could not start; the node runs on without it (TOLLGATE_DEMO=0 turns it off)');
        }
      }
      return;
    } catch (err) {
      startupProblem = `${config.databaseUrl ? 'postgres' : 'embedded database'}: ${(err as Error).message}`;
      log.error({ err, attempt, retryInMs: delay }, 'startup failed; retrying');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

void main();
