/** A small JSON client for the CLI commands that talk to a running node. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const DEFAULT_URL = 'http://localhost:8080';

export interface ApiOptions {
  url?: string | undefined;
  token?: string | undefined;
}

/** Calls `/api/v1…` with the bearer token; a non-2xx answer throws ApiError with its code. */
export function api(options: ApiOptions) {
  const base = (options.url ?? process.env.TOLLGATE_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  const token = options.token ?? process.env.TOLLGATE_TOKEN;
  return async <T = any>(method: string, path: string, body?: unknown): Promise<T> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      throw new ApiError(0, 'UNREACHABLE', `cannot reach ${base}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
      throw new ApiError(res.status, e?.code ?? 'HTTP_' + res.status, e?.message ?? text.slice(0, 200), e?.details);
    }
    return parsed as T;
  };
}
