import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startWebhookReceiver } from '../../test/support/webhook-receiver';
import { inSpan } from './tracing';
import { startTracing, TracingConfigError } from './tracing-setup';

test('off by default, and with none or OTEL_SDK_DISABLED', async () => {
  assert.is(startTracing({}).exporter, null);
  assert.is(startTracing({ OTEL_TRACES_EXPORTER: 'none' }).exporter, null);
  assert.is(startTracing({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).exporter, null);
  // With no provider the API's no-op tracer runs the work and records nothing.
  assert.is(await inSpan('noop', {}, async (span) => span.isRecording()), false);
});

test('bad values name the variable', () => {
  assert.throws(() => startTracing({ OTEL_TRACES_EXPORTER: 'jaeger' }), (e: Error) => e instanceof TracingConfigError && /OTEL_TRACES_EXPORTER: unknown exporter jaeger/.test(e.message));
  assert.throws(() => startTracing({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT: must be an http/);
});

test('otlp: spans reach the OTLP/HTTP endpoint with the service name', async () => {
  const collector = await startWebhookReceiver(200);
  try {
    const tracing = startTracing({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url(''), OTEL_SERVICE_NAME: 'tollgate-test' });
    assert.is(tracing.exporter, 'otlp');
    await inSpan('exported-span', {}, async (span) => assert.ok(span.isRecording()));
    await tracing.shutdown();
    const posts = collector.at('/v1/traces');
    assert.is(posts.length, 1);
    assert.match(posts[0]!.body, 'exported-span');
    assert.match(posts[0]!.body, 'tollgate-test');
  } finally {
    await collector.close();
  }
});

test.run();
