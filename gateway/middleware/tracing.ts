import { context, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { extractHeaders, SpanKind, SpanStatusCode, tracer } from '../../control-plane/observability/tracing';

/**
 * One SERVER span per request, continuing the caller's W3C `traceparent`,
 * named after the matched route pattern (never the raw path). Everything the
 * handler does — actor commands over the bus, database writes — runs inside
 * it. With tracing off the API's no-op tracer makes this nearly free.
 */
export function httpTracing(): MiddlewareHandler {
  return async function httpTracing(c, next) {
    const parent = extractHeaders({ traceparent: c.req.header('traceparent') ?? '', tracestate: c.req.header('tracestate') ?? '' });
    const span = tracer().startSpan(`${c.req.method}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = c.req.routePath && c.req.routePath !== '/*' ? c.req.routePath : undefined;
      if (route) {
        span.updateName(`${c.req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
