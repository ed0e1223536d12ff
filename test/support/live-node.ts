import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { serve } from '@hono/node-server';
import type { LiveChannel, LiveOptions } from '../../control-plane/live';
import { attachLiveChannels } from '../../control-plane/live-channels';
import { httpServerOptions } from '../../gateway/server-limits';
import { startTestSystem } from './system';

export type LiveNode = Awaited<ReturnType<typeof startTestSystem>> & { url: string; channel: LiveChannel; stop(): Promise<void> };

/**
 * A whole node (startTestSystem) served over a real HTTP server on
 * 127.0.0.1, a random port, with the live channel attached, as main.ts does.
 */
export async function startLiveNode(env: Record<string, string> = {}, live: LiveOptions = {}, options: Parameters<typeof startTestSystem>[1] = {}): Promise<LiveNode> {
  const system = await startTestSystem(env, options);
  const server = await new Promise<HttpServer>((resolve) => {
    const s = serve({ fetch: system.app.fetch, port: 0, hostname: '127.0.0.1', serverOptions: httpServerOptions() }, () => resolve(s as HttpServer)) as HttpServer;
  });
  const channel = attachLiveChannels(server, system, live);
  const { port } = server.address() as AddressInfo;
  return Object.assign(system, {
    url: `http://127.0.0.1:${port}`,
    channel,
    stop: async () => {
      await channel.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await system.dispose();
    },
  });
}
