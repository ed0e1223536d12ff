import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { openTestDatabase } from '../../test/support/databases';
import { REDIS_URL, requireRedis } from '../../test/support/services';
import { systemClock } from '../ports/clock';
import { SqlFences } from './fences';
import { InProcessLock } from './in-process-lock';
import { lockContract } from './lock.contract';
import { RedlockLock } from './redlock-lock';

// Probe first: a top-level await after a suite's .run() garbles uvu's output.
const redisUp = await requireRedis();
lockContract('in-process', async () => {
  const t = (await openTestDatabase('pglite', 'lock'))!;
  return { lock: new InProcessLock(new SqlFences(t.database.db), systemClock), close: () => t.close() };
}).run();
if (redisUp) {
  lockContract('redlock', async () => {
    const t = (await openTestDatabase('pglite', 'lock'))!;
    // Two logical databases stand in for two independent Redlock nodes (quorum 2 of 2).
    const clients = [new Redis(`${REDIS_URL}/0`), new Redis(`${REDIS_URL}/1`)];
    const lock = new RedlockLock(clients, new SqlFences(t.database.db), { keyPrefix: `tg-test-${randomBytes(4).toString('hex')}:` });
    return {
      lock,
      close: async () => {
        await Promise.all(clients.map((c) => c.quit()));
        await t.close();
      },
    };
  }).run();
}
