import { Redis } from 'ioredis';
import { RedlockLock } from './control-plane/lock/redlock-lock';
let n = 0;
const lock = new RedlockLock([new Redis('redis://127.0.0.1:6379')], { next: async () => ++n }, { keyPrefix: 'dbg:' });
console.log('a');
const a = await lock.acquire('k1', 5000);
console.log('got', a.fencingToken);
try { await lock.acquire('k1', 5000); } catch (e) { console.log('refused', (e as Error).name); }
await a.release();
console.log('done');
await lock.close();
process.exit(0);
