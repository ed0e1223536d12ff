import { connect } from 'nats';
import { requireService } from '../../test/support/services';
import { busContract } from './bus.contract';
import { InProcessBus } from './in-process-bus';
import { NatsBus } from './nats-bus';

export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

// Probe first: a top-level await after a suite's .run() garbles uvu's output.
const natsUp = await requireService('NATS', async () => {
  const nc = await connect({ servers: NATS_URL, timeout: 2000 });
  await nc.close();
});
busContract('in-process', async () => {
  const bus = new InProcessBus();
  return { bus, close: () => bus.close() };
}).run();
if (natsUp) {
  busContract('nats', async () => {
    const bus = new NatsBus(await connect({ servers: NATS_URL }));
    return { bus, close: () => bus.close() };
  }).run();
}
