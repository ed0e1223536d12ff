/** A webhook call that did not end in a 2xx: retried with backoff by the router. */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
  readonly retryable = true;
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * POSTs one message to a webhook, giving up after `timeoutMs` (connection,
 * response headers and body included). Redirects are not followed: a
 * receiver that moved must be reconfigured, not guessed at.
 */
export async function postWebhook(url: string, message: { headers: Record<string, string>; body: string }, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: message.headers, body: message.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new WebhookDeliveryError(`no answer from ${origin(url)} within ${timeoutMs} ms`, null, { cause: err });
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new WebhookDeliveryError(`could not reach ${origin(url)}: ${cause?.code ?? cause?.message ?? e.message}`, null, { cause: err });
  }
  // Drain the body so the connection can be reused; its content is not used.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new WebhookDeliveryError(`${origin(url)} answered HTTP ${res.status}`, res.status);
}

/** Scheme, host and port only: webhook paths often carry secrets, so they stay out of errors and logs. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the webhook';
  }
}
