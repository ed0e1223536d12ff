import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';

/** The tracer every Tollgate span comes from: the API's no-op until a provider is registered. */
export function tracer() {
  return trace.getTracer('tollgate');
}

const getter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()] ?? carrier[key],
};
const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** W3C trace context of `ctx` as message headers (empty when tracing is off). */
export function injectHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers, setter);
  return headers;
}

/** The context a message's (or request's) headers carry, rooted at nothing else. */
export function extractHeaders(headers: Readonly<Record<string, string>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/** The active trace id, when a real (sampled or not) span is active. */
export function activeTraceId(): string | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

/** The trace id a `traceparent` header names (used for log correlation when tracing is off). */
export function traceIdOfHeader(traceparent: string | undefined): string | undefined {
  const m = traceparent ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent.trim()) : null;
  return m && m[1] !== '0'.repeat(32) ? m[1] : undefined;
}

/**
 * Runs `fn` in a new span (child of `parent`, default: the active context),
 * ending it when `fn` settles and marking it errored when `fn` throws.
 */
export async function inSpan<T>(name: string, options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context }, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

export { SpanKind, SpanStatusCode };
