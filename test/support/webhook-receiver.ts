import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** What the receiver does with one request: answer with a status, or never answer (the caller times out). */
export type Reaction = number | 'hang';

export interface Received {
  path: string;
  at: number;
  headers: Record<string, string>;
  body: string;
  reaction: Reaction;
}

/**
 * A local webhook receiver (127.0.0.1, random port) whose answers are
 * scripted per path: each request takes the next reaction of its path's
 * script, then `fallback`. It records everything it was sent.
 */
export async function startWebhookReceiver(fallback: Reaction = 200) {
  const scripts = new Map<string, Reaction[]>();
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  let defaultReaction = fallback;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const reaction = scripts.get(path)?.shift() ?? defaultReaction;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      received.push({ path, at: Date.now(), headers, body: Buffer.concat(chunks).toString('utf8'), reaction });
      if (reaction === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      res.writeHead(reaction, { 'content-type': 'text/plain' }).end(reaction < 300 ? 'ok' : 'failing on purpose');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    /** Requests to one path. */
    at: (path: string) => received.filter((r) => r.path === path),
    script(path: string, reactions: Reaction[]): void {
      scripts.set(path, [...reactions]);
    },
    setFallback(reaction: Reaction): void {
      defaultReaction = reaction;
    },
    async close(): Promise<void> {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
