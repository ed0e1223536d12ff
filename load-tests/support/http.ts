import { Agent, request } from 'node:http';

export interface JsonReply {
  status: number;
  body: unknown;
  text: string;
}

/**
 * A minimal JSON client over node:http with one keep-alive Agent: lighter per
 * request than the global fetch (no WHATWG streams), so the load generator
 * takes less of the CPU it shares with the server and Postgres.
 * Loopback only: refuses any other host.
 */
export class JsonClient {
  readonly #agent: Agent;
  readonly #host: string;
  readonly #port: number;
  readonly #auth: string;

  constructor(baseUrl: string, token: string, maxSockets: number) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      throw new Error(`refusing to target ${baseUrl}: loopback only`);
    }
    this.#host = url.hostname === '[::1]' ? '::1' : url.hostname;
    this.#port = Number(url.port);
    this.#auth = `Bearer ${token}`;
    this.#agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: 'GET' | 'POST', path: string, payload?: unknown, timeoutMs = 10_000): Promise<JsonReply> {
    const data = payload === undefined ? undefined : JSON.stringify(payload);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.#host,
          port: this.#port,
          method,
          path,
          agent: this.#agent,
          headers: {
            authorization: this.#auth,
            accept: 'application/json',
            ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = null;
            try {
              body = text ? JSON.parse(text) : null;
            } catch {
              body = null;
            }
            resolve({ status: res.statusCode ?? 0, body, text });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
