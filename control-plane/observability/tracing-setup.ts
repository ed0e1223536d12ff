import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export class TracingConfigError extends Error {
  override readonly name = 'TracingConfigError';
}

export interface Tracing {
  /** The exporter in use, or null when tracing is off. */
  exporter: 'otlp' | 'console' | null;
  /** Flushes pending spans and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Turns tracing on from the standard OpenTelemetry variables, or leaves the
 * API's no-op tracer in place (the default: no exporter, near-zero cost).
 * `OTEL_TRACES_EXPORTER=otlp` sends to `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, read by the exporter itself) over
 * HTTP/protobuf-JSON; `console` prints spans; `none` or unset is off, as is
 * `OTEL_SDK_DISABLED=true`. Service name: `OTEL_SERVICE_NAME` (default
 * `tollgate`), plus `OTEL_RESOURCE_ATTRIBUTES`. Sampling honours
 * `OTEL_TRACES_SAMPLER` / `_ARG` through the SDK.
 */
export function startTracing(env: Record<string, string | undefined> = process.env): Tracing {
  const off: Tracing = { exporter: null, shutdown: async () => undefined };
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return off;
  const names = (env.OTEL_TRACES_EXPORTER ?? 'none').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const unknown = names.filter((n) => !['otlp', 'console', 'none'].includes(n));
  if (unknown.length) throw new TracingConfigError(`OTEL_TRACES_EXPORTER: unknown exporter ${unknown.join(', ')} (use otlp, console or none)`);
  if (names.includes('none') || names.length === 0) return off;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) {
    for (const key of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] as const) {
      const v = env[key];
      if (v === undefined) continue;
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(v).protocol);
      } catch {
        ok = false;
      }
      if (!ok) throw new TracingConfigError(`${key}: must be an http:// or https:// URL, got "${v}"`);
    }
  }
  const exporters: SpanExporter[] = [];
  if (names.includes('otlp')) {
    // The spec's rule: the traces endpoint as given, or the base endpoint plus /v1/traces.
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base !== undefined ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
    exporters.push(new OTLPTraceExporter(url ? { url } : {}));
  }
  if (names.includes('console')) exporters.push(new ConsoleSpanExporter());
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'tollgate' }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: exporters.map((e) => new BatchSpanProcessor(e)) });
  provider.register();
  return { exporter: names.includes('otlp') ? 'otlp' : 'console', shutdown: () => provider.shutdown() };
}
