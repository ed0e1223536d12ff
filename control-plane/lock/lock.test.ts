import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { openTestDatabase } from '../../test/support/databases';
import { REDIS_URL, requireRedis } from '../../test/support/services';
import { systemClock } from '../ports/clock';
import { SqlFences } from './fences';
import { InProcessLock } from './in-process-lock';
import { lockContract } from './lock.contract';
import { RedlockLock } from './redlock-lock';

// Probe and open first: a top-level await after a suite's .run() garbles uvu's output.
const redisUp = await requireRedis();
// One fence store for both adapters (opening PGlite is the slow part); the keys differ per suite run.
const fencesDb = (await openTestDatabase('pglite', 'lock'))!;
const fences = new SqlFences(fencesDb.database.db);
let open = redisUp ? 2 : 1;
const closeShared = async () => {
  if (--open === 0) await fencesDb.close();
};

lockContract('in-process', async () => ({ lock: new InProcessLock(fences, systemClock), close: closeShared })).run();
if (redisUp) {
  lockContract('redlock', async () => {
    // Two logical databases stand in for two independent Redlock nodes (quorum 2 of 2).
    const clients = [new Redis(`${REDIS_URL}/0`), new Redis(`${REDIS_URL}/1`)];
    const lock = new RedlockLock(clients, fences, { keyPrefix: `tg-test-${randomBytes(4).toString('hex')}:` });
    return {
      lock,
      close: async () => {
        await Promise.all(clients.map((c) => c.quit()));
        await closeShared();
      },
    };
  }).run();
}
