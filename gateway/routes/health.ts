import { Hono } from 'hono';
import type { Metrics } from '../metrics';

/** One configured dependency that /readyz probes. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 2_000;

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** /healthz (process up), /readyz (each dependency), /metrics (Prometheus). */
export function healthRoutes(checks: ReadinessCheck[], metrics: Metrics) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const results = await Promise.all(
        checks.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), PROBE_TIMEOUT_MS);
            return { name, ok: true as const };
          } catch (err) {
            return { name, ok: false as const, error: (err as Error).message };
          }
        }),
      );
      const down = results.filter((r) => !r.ok);
      const body = {
        status: down.length ? 'unavailable' : 'ready',
        ...(down.length ? { message: `not ready: ${down.map((d) => d.name).join(', ')} unreachable` } : {}),
        dependencies: Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : r.error])),
      };
      return c.json(body, down.length ? 503 : 200);
    })
    .get('/metrics', async (c) => {
      c.header('content-type', metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
}
