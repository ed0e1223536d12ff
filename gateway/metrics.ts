import type { MiddlewareHandler } from 'hono';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus registry and the HTTP metrics on it. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_' });
  const requests = new Counter({
    name: 'tollgate_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request duration by matched route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  /** Told every answered status (the availability SLO). */
  const answered = new Set<(status: number) => void>();
  const middleware: MiddlewareHandler = async function httpMetrics(c, next) {
    const start = performance.now();
    await next();
    // The matched pattern (never the raw path: ids would make a series each); 404s share one label.
    const status = String(c.res.status);
    const matched = c.req.routePath;
    const route = !matched || matched === '/*' || matched === '*' ? 'unmatched' : matched;
    requests.inc({ method: c.req.method, route, status });
    duration.observe({ method: c.req.method, route, status }, (performance.now() - start) / 1000);
    for (const observe of answered) observe(c.res.status);
  };
  return { registry, middleware, answered };
}
export type Metrics = ReturnType<typeof createMetrics>;
