import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanKind } from '@opentelemetry/api';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

// The process's tracer provider: every span ends up in memory.
const exporter = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  admin: ReturnType<typeof client>;
  prefix: string;
  cleanup(): Promise<void>;
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

async function settled(): Promise<ReadableSpan[]> {
  // Spans end when their work settles; the HTTP span last, after the response.
  for (let i = 0; i < 40; i++) {
    const spans = exporter.getFinishedSpans();
    if (spans.some((s) => s.kind === SpanKind.SERVER)) return spans;
    await new Promise((r) => setTimeout(r, 25));
  }
  return exporter.getFinishedSpans();
}

function tracingSuite(name: string, makeEnv: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`tracing: ${name}`, {} as Ctx);
  test.before(async (ctx) => {
    const made = await makeEnv();
    ctx.cleanup = made.cleanup;
    ctx.prefix = made.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg';
    ctx.sys = await startTestSystem(made.env);
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
  });
  test.after(async (ctx) => {
    await ctx.sys?.dispose();
    await ctx.cleanup?.();
  });
  test.before.each(() => exporter.reset());

  test('one command, one trace: HTTP → NATS request → actor → Postgres, parents intact', async (ctx) => {
    const res = await ctx.admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm' });
    assert.is(res.status, 201, res.text);
    const spans = await settled();
    const http = spans.find((s) => s.kind === SpanKind.SERVER);
    assert.ok(http, 'an HTTP span');
    assert.is(http!.name, 'POST /api/v1/tenants');
    assert.is(http!.attributes['http.route'], '/api/v1/tenants');
    assert.is(http!.attributes['http.response.status_code'], 201);
    const trace = http!.spanContext().traceId;
    const mine = spans.filter((s) => s.spanContext().traceId === trace);
    const request = mine.find((s) => s.kind === SpanKind.CLIENT && s.name === `request ${ctx.prefix}.tenant.{id}.cmd`);
    assert.ok(request, `a NATS request span among ${mine.map((s) => s.name).join(', ')}`);
    assert.is(request!.attributes['messaging.destination.name'], `${ctx.prefix}.tenant.farm.cmd`);
    assert.is(parentOf(request!), http!.spanContext().spanId, 'the request is a child of the HTTP span');
    const actor = mine.find((s) => s.kind === SpanKind.CONSUMER);
    assert.ok(actor, 'the actor processing span continues the trace from the message headers');
    assert.is(actor!.name, `process ${ctx.prefix}.tenant.{id}.cmd`);
    assert.is(parentOf(actor!), request!.spanContext().spanId, 'the actor span is a child of the request');
    const save = mine.find((s) => s.attributes['db.system.name'] === 'postgresql');
    assert.ok(save, `a Postgres span among ${mine.map((s) => s.name).join(', ')}`);
    assert.is(save!.attributes['db.system.name'], 'postgresql');
    assert.is(parentOf(save!), actor!.spanContext().spanId, 'the write is a child of the actor span');
    const ports = mine.filter((s) => s.name.startsWith('port '));
    assert.ok(ports.length > 0, 'the registry port call');
    for (const p of ports) assert.is(parentOf(p), actor!.spanContext().spanId);
    // Nothing else of this command started a trace of its own.
    const others = spans.filter((s) => s.spanContext().traceId !== trace);
    assert.equal(others.map((s) => s.name), []);
  });

  test("the caller's W3C traceparent is continued; another command gets another trace", async (ctx) => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await ctx.admin('GET', '/api/v1/tenants/farm', undefined, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.is(res.status, 200, res.text);
    let spans = await settled();
    const http = spans.find((s) => s.kind === SpanKind.SERVER)!;
    assert.is(http.spanContext().traceId, traceId);
    assert.is(parentOf(http), '00f067aa0ba902b7');
    assert.is(http.name, 'GET /api/v1/tenants/:tenantId');

    exporter.reset();
    const model = await ctx.admin('POST', '/api/v1/tenants/farm/models', { label: 'v1', owner: 'ana', featureSignature: 'ndvi' });
    assert.is(model.status, 201, model.text);
    spans = await settled();
    const second = spans.find((s) => s.kind === SpanKind.SERVER)!;
    assert.is.not(second.spanContext().traceId, traceId);
    assert.ok(spans.filter((s) => s.kind === SpanKind.CONSUMER).every((s) => s.spanContext().traceId === second.spanContext().traceId));
  });

  return test;
}

const pg = await requirePostgres();
const nats = await requireNats();
tracingSuite('embedded (in-process bus)', async () => ({ env: {}, cleanup: async () => undefined })).run();
if (pg && nats) tracingSuite('Postgres + NATS (context in message headers)', () => realServicesEnv('tracing', { TOLLGATE_NODE_ID: 'tracing-node' })).run();
