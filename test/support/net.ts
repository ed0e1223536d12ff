import { createServer, Socket } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Resolves when something accepts connections on 127.0.0.1:port. */
export function probeTcp(port: number, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    sock.setTimeout(timeoutMs);
    sock.once('connect', () => (sock.destroy(), resolve()));
    sock.once('timeout', () => (sock.destroy(), reject(new Error(`127.0.0.1:${port} timed out`))));
    sock.once('error', (e: Error) => reject(e));
    sock.connect(port, '127.0.0.1');
  });
}

/** Waits until a port accepts connections. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await probeTcp(port, 500);
    } catch (err) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
