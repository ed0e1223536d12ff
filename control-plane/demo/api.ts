/** How the simulator talks to a node: the public HTTP API, in-process (app.request) or over the network. */
export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export type Call = (method: string, path: string, body?: unknown, token?: string) => Promise<ApiAnswer>;

/** Thrown when the node answers a demo call with an unexpected status. */
export class DemoApiError extends Error {
  override readonly name = 'DemoApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly text: string,
  ) {
    super(`${method} ${path} → ${status} ${text.slice(0, 300)}`);
  }
}

async function answer(res: Response): Promise<ApiAnswer> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

function init(method: string, body: unknown, token?: string): RequestInit {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
}

/** Calls the Hono app in-process: the same routes, auth and validation as over HTTP. */
export function inProcessCall(app: { request(input: string, init?: RequestInit): Response | Promise<Response> }): Call {
  return async (method, path, body, token) => answer(await app.request(path, init(method, body, token)));
}

/** Calls a node over HTTP at `baseUrl`. */
export function httpCall(baseUrl: string): Call {
  const base = baseUrl.replace(/\/+$/, '');
  return async (method, path, body, token) => answer(await fetch(`${base}${path}`, { ...init(method, body, token), signal: AbortSignal.timeout(30_000) }));
}

/** A call that must answer one of `ok`; anything else throws DemoApiError. */
export async function expectOk(call: Call, method: string, path: string, body: unknown, token: string, ok: number[] = [200, 201]): Promise<ApiAnswer> {
  const res = await call(method, path, body, token);
  if (!ok.includes(res.status)) throw new DemoApiError(method, path, res.status, res.text);
  return res;
}
