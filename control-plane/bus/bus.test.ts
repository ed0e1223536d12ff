import { connect } from 'nats';
import { NATS_URL, requireNats } from '../../test/support/services';
import { busContract } from './bus.contract';
import { InProcessBus } from './in-process-bus';
import { NatsBus } from './nats-bus';

// Probe first: a top-level await after a suite's .run() garbles uvu's output.
const natsUp = await requireNats();
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
