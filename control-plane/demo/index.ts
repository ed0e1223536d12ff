import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RidgeModel } from '../retrain/trainers/ridge';
import type { System } from '../system';
import type { AcceleratedClock } from './accelerated-clock';
import { inProcessCall } from './api';
import { credentialsBanner, credentialsPath, ensureDemoCredentials } from './credentials';
import { seedTenants } from './seed';
import { DemoSimulator } from './simulator';
import { DEMO_TENANTS } from './story';

export { AcceleratedClock, openDemoClock } from './accelerated-clock';
export { DemoSimulator } from './simulator';
export { readCredentials, credentialsPath } from './credentials';

export interface RunningDemo {
  /** Null when the node's own simulator is off (`tollgate demo` plays the data plane). */
  simulator: DemoSimulator | null;
  /** Printed once: the credentials made on this start (null on a restart). */
  banner: string | null;
  stop(): Promise<void>;
}

/**
 * The demo inside a node (`npm start` on embedded defaults): demo users and
 * committee (once), the demo tenants with their champions (once, plus three
 * days of history), then the simulator playing the data plane through the
 * node's own HTTP API until `stop()`.
 */
export async function startDemo(d: { system: System; dataDir: string; clock: AcceleratedClock; log: Logger; ratePerHour?: number; simulate?: boolean }): Promise<RunningDemo> {
  const log = d.log.child({ component: 'demo' });
  const call = inProcessCall(d.system.app);
  const { credentials, created } = await ensureDemoCredentials({ dataDir: d.dataDir, identity: d.system.identity, call, now: () => d.clock.now() });
  const seeded = await seedTenants({ call, credentials, db: d.system.database.db, audit: d.system.audit, reloadRoutes: (id) => d.system.routing.reload(id), dataDir: d.dataDir, log });
  const banner = created ? credentialsBanner(credentials, d.dataDir) : null;
  if (d.simulate === false) {
    log.info(
      { beat: 'demo.start', speed: d.clock.speed, simulator: false, tenants: DEMO_TENANTS.map((t) => t.id), credentials: credentialsPath(d.dataDir) },
      `demo: ${seeded.length ? 'seeded' : 'kept'} ${DEMO_TENANTS.length} tenants; time runs ${d.clock.speed}×; the simulator is off (TOLLGATE_DEMO_SIMULATOR=0): play the data plane with \`npx --no tollgate demo --token <demo-admin token>\``,
    );
    return { simulator: null, banner, stop: async () => undefined };
  }
  const simulator = new DemoSimulator({
    call,
    tokens: { manager: credentials.users.manager.token, admin: credentials.users.admin.token },
    now: () => d.clock.now().getTime(),
    log,
    ...(d.ratePerHour ? { ratePerHour: d.ratePerHour } : {}),
    readArtifact: (tenantId, sha) => readRidgeArtifact(join(d.dataDir, 'artifacts', tenantId, sha)),
  });
  await simulator.attach();
  const secondsPerDay = Math.round((86_400 / d.clock.speed) * 10) / 10;
  log.info(
    { beat: 'demo.start', speed: d.clock.speed, secondsPerSimulatedDay: secondsPerDay, tenants: DEMO_TENANTS.map((t) => t.id), credentials: credentialsPath(d.dataDir), storyStart: new Date(simulator.storyStart).toISOString() },
    `demo: ${seeded.length ? 'seeded' : 'resuming'} ${DEMO_TENANTS.length} tenants; time runs ${d.clock.speed}× (a simulated day every ${secondsPerDay} s)`,
  );
  if (seeded.length) await simulator.backfill();
  simulator.start();
  return { simulator, banner, stop: () => simulator.stop() };
}

/** A retrained version's artifact, when it is the built-in ridge model. */
function readRidgeArtifact(file: string): RidgeModel | null {
  if (!existsSync(file)) return null;
  try {
    const model = JSON.parse(readFileSync(file, 'utf8')) as RidgeModel;
    return model.format === 'tollgate-ridge/v1' ? model : null;
  } catch {
    return null;
  }
}
