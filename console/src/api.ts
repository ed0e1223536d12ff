/** The console's REST client: bearer token, JSON in and out, API errors as readable ApiErrors. */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let token: string | null = sessionStorage.getItem('tollgate.token');

export function currentToken(): string | null {
  return token;
}

export function setToken(next: string | null): void {
  token = next;
  if (next) sessionStorage.setItem('tollgate.token', next);
  else sessionStorage.removeItem('tollgate.token');
}

/** Calls the API; throws ApiError with the server's code and message (or what went wrong on the way). */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the control plane did not answer (${(err as Error).message}); check that it is running`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText));
  }
  return (parsed ?? text) as T;
}

/** An error as a sentence for the person at the screen. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const what: Record<number, string> = { 400: 'The request was refused', 401: 'You are not signed in', 403: 'You are not allowed to do this', 404: 'Not found', 409: 'Refused', 413: 'Too large', 429: 'Too many requests', 503: 'The service is unavailable' };
    return `${what[err.status] ?? 'Error'} (${err.code}): ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Downloads a text response (e.g. the audit export) as a file. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, (await res.text()).slice(0, 300));
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  a.click();
  URL.revokeObjectURL(url);
}

export const ROLE_RANK: Record<string, number> = { AGRONOMIST: 0, MANAGER: 1, ADMIN: 2 };
export const roleAtLeast = (role: string | undefined, needed: 'MANAGER' | 'ADMIN') => (ROLE_RANK[role ?? ''] ?? -1) >= ROLE_RANK[needed]!;
