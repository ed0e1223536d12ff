import type { Server as HttpServer } from 'node:http';
import { attachFlagsNamespace } from './flags';
import { attachLive, type LiveChannel, type LiveOptions } from './live';
import type { System } from './system';

/**
 * Every namespace of the live channel (socket.io at `/live`) on one HTTP
 * server: the console's (`/`) and the feature flags' (`/flags`). main.ts and
 * the test nodes both attach through here, so they serve the same thing.
 */
export function attachLiveChannels(server: HttpServer, system: Pick<System, 'live' | 'flags' | 'identity' | 'bus' | 'log'>, options: LiveOptions = {}): LiveChannel {
  const live = attachLive(server, system.live, options);
  const flags = attachFlagsNamespace(live.io, {
    flags: system.flags,
    authenticate: (token) => system.identity.authenticate(token),
    bus: system.bus,
    prefix: system.live.prefix,
    log: system.log.child({ component: 'flags-live' }),
  });
  return {
    ...live,
    close: async () => {
      flags.close();
      await live.close();
    },
  };
}
