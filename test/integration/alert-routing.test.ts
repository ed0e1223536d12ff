import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP, type CloudEventV1 } from 'cloudevents';
import { and, eq } from 'drizzle-orm';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeEd25519Signer } from '../../control-plane/adapters/ed25519-signer';
import { raiseAlert, type AlertInput } from '../../control-plane/alerts/raise-alert';
import { ALERT_ESCALATED, ALERT_RAISED } from '../../control-plane/alerts/alert-event';
import { parseConfig } from '../../control-plane/config';
import { ManualClock } from '../../control-plane/ports/clock';
import { buildSystem, type System } from '../../control-plane/system';
import { alertDeliveries, auditLog } from '../../db/schema';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { BOOTSTRAP_TOKEN, client } from '../support/system';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const HOUR = 3_600_000;
const TIMEOUT_MS = 300;
const BASE_MS = 100;

interface Node {
  sys: System;
  clock: ManualClock;
  admin: ReturnType<typeof client>;
}

interface Ctx {
  receiver: WebhookReceiver;
  env: Record<string, string>;
  dataDir: string;
  node: Node;
  cleanup(): Promise<void>;
}

const signer = NodeEd25519Signer.generate();

/** A whole node; on embedded defaults its PGlite lives on disk in `dataDir`, so a new node can take over the same data. */
async function boot(env: Record<string, string>, dataDir: string): Promise<Node> {
  const clock = new ManualClock(Date.now());
  const config = parseConfig({ TOLLGATE_DATA_DIR: dataDir, TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: BOOTSTRAP_TOKEN, ...env });
  const sys = await buildSystem(config, {
    clock,
    signer,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...(env.DATABASE_URL ? {} : { embeddedDir: join(dataDir, 'pgdata') }),
  });
  return { sys, clock, admin: client(sys.app, BOOTSTRAP_TOKEN) };
}

async function eventually<T>(check: () => Promise<T | false | undefined | null>, what: string, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let seq = 0;
function raise(node: Node, input: Partial<AlertInput> & Pick<AlertInput, 'severity'>) {
  const prefix = prefixes.get(node) ?? 'tg';
  const full: AlertInput = { tenantId: 'farm', kind: 'test.alert', message: 'something needs a person', details: { n: ++seq }, dedupeKey: `test:${seq}:${Date.now()}`, ...input };
  return raiseAlert(node.sys.database.db, node.sys.streams, prefix, full, node.clock.now()).then((r) => ({ ...r, input: full }));
}
/** Each node's subject prefix (the suite's own on the real services). */
const prefixes = new WeakMap<Node, string>();

async function listed(node: Node, id: string) {
  const res = await node.admin('GET', '/api/v1/alerts?limit=500');
  assert.is(res.status, 200, res.text);
  return (res.body.items as Array<{ id: string } & Record<string, any>>).find((a) => a.id === id); // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function deliveryOf(node: Node, alertId: string, level = 0) {
  const [row] = await node.sys.database.db.select().from(alertDeliveries).where(and(eq(alertDeliveries.alertId, alertId), eq(alertDeliveries.level, level)));
  return row;
}

function toEvent(body: string, headers: Record<string, string>): CloudEventV1<Record<string, unknown>> {
  const ev = HTTP.toEvent({ headers, body });
  assert.not.ok(Array.isArray(ev), 'one event, not a batch');
  const one = ev as CloudEventV1<Record<string, unknown>>;
  assert.ok((one as unknown as { validate(): boolean }).validate(), 'a valid CloudEvent');
  return one;
}

function routingSuite(name: string, makeEnv: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<Ctx>(`alert routing: ${name}`, {} as Ctx);

  test.before(async (ctx) => {
    ctx.receiver = await startWebhookReceiver(200);
    const made = await makeEnv();
    ctx.env = {
      ...made.env,
      TOLLGATE_ALERT_WEBHOOK_P1: ctx.receiver.url('/call-sms'),
      TOLLGATE_ALERT_WEBHOOK_P2: ctx.receiver.url('/chat'),
      TOLLGATE_ALERT_WEBHOOK_P3: ctx.receiver.url('/ticket?token=s3cret'),
      TOLLGATE_ALERT_WEBHOOK_ESCALATION: ctx.receiver.url('/oncall-lead'),
      TOLLGATE_ALERT_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      TOLLGATE_ALERT_RETRY_BASE_MS: String(BASE_MS),
      TOLLGATE_ALERT_RETRY_MAX_MS: '2000',
    };
    ctx.cleanup = made.cleanup;
    ctx.dataDir = mkdtempSync(join(tmpdir(), 'tollgate-alerts-'));
    ctx.node = await boot(ctx.env, ctx.dataDir);
    prefixes.set(ctx.node, ctx.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg');
  });

  test.after(async (ctx) => {
    await ctx.node?.sys.close();
    await ctx.receiver?.close();
    await ctx.cleanup?.();
    rmSync(ctx.dataDir, { recursive: true, force: true });
  });

  test('a P2 alert reaches the chat webhook once, as a CloudEvent, after 500s and a timeout, with growing delays', async (ctx) => {
    ctx.receiver.script('/chat', [500, 500, 'hang', 200]);
    const alert = await raise(ctx.node, { severity: 'P2', kind: 'canary.failed' });
    const done = await eventually(async () => (await deliveryOf(ctx.node, alert.id))?.deliveredAt && (await deliveryOf(ctx.node, alert.id)), 'the alert delivered');
    assert.is(done.attempts, 4);
    assert.is(done.channel, 'chat');
    const calls = ctx.receiver.at('/chat');
    assert.equal(calls.map((c) => c.reaction), [500, 500, 'hang', 200]);
    // Backoff: 100 ms, 200 ms, then the 300 ms timeout plus 400 ms.
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    assert.ok(gaps[0]! >= BASE_MS * 0.9, `first retry after ${gaps[0]} ms`);
    assert.ok(gaps[1]! >= 2 * BASE_MS * 0.9, `second retry after ${gaps[1]} ms`);
    assert.ok(gaps[2]! >= (TIMEOUT_MS + 4 * BASE_MS) * 0.9, `third retry after ${gaps[2]} ms`);
    const events = calls.map((c) => toEvent(c.body, c.headers));
    assert.equal(new Set(events.map((e) => e.id)).size, 1, 'one event id: the receiver de-duplicates the retries');
    const ev = events[3]!;
    assert.is(ev.id, alert.id);
    assert.is(ev.type, ALERT_RAISED);
    assert.is(ev.specversion, '1.0');
    assert.is(ev.subject, 'farm');
    assert.match(calls[3]!.headers['content-type']!, /^application\/cloudevents\+json/);
    assert.is(ev.data?.severity, 'P2');
    assert.is(ev.data?.kind, 'canary.failed');
    assert.is(ev.data?.channel, 'chat');
    assert.is(ev.data?.dedupeKey, alert.input.dedupeKey);
    assert.is(ev.data?.ackSlaDeadline, new Date(alert.at.getTime() + 4 * HOUR).toISOString());

    // The feed shows the delivery, the channel, the level and the SLA deadline.
    const shown = await listed(ctx.node, alert.id);
    assert.is(shown?.channel, 'chat');
    assert.is(shown?.escalationLevel, 0);
    assert.is(shown?.slaDeadline, new Date(alert.at.getTime() + 4 * HOUR).toISOString());
    assert.equal(shown?.deliveries.map((d: { status: string; attempts: number }) => [d.status, d.attempts]), [['delivered', 4]]);
    assert.is(shown?.deliveries[0].lastError, null);
  });

  test('the same alert raised again, or its stream message redelivered, is not sent again', async (ctx) => {
    const alert = await raise(ctx.node, { severity: 'P2' });
    await eventually(async () => (await deliveryOf(ctx.node, alert.id))?.deliveredAt, 'delivered');
    const before = ctx.receiver.at('/chat').length;
    // Raised again with the same key (a retry upstream), and a copy on the stream with another msgId (a lost ack).
    const again = await raise(ctx.node, { ...alert.input });
    assert.is(again.created, false);
    const prefix = ctx.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg';
    await ctx.node.sys.streams.publish(`${prefix}.alert.farm.P2`, new TextEncoder().encode(JSON.stringify({ ...alert.input, id: alert.id })), `copy-${alert.id}`);
    // A marker behind them on the stream: once it is delivered, the copies were handled (one at a time, in order).
    const marker = await raise(ctx.node, { severity: 'P2' });
    await eventually(async () => (await deliveryOf(ctx.node, marker.id))?.deliveredAt, 'the marker delivered');
    const ids = ctx.receiver.at('/chat').slice(before).map((c) => toEvent(c.body, c.headers).id);
    assert.equal(ids, [marker.id]);
    assert.is((await deliveryOf(ctx.node, alert.id))?.attempts, 1);
  });

  test('escalation: an unacknowledged P3 goes to chat after 24 h, once, audited; an acknowledged one does not', async (ctx) => {
    const alert = await raise(ctx.node, { severity: 'P3', kind: 'quota.exceeded' });
    const acked = await raise(ctx.node, { severity: 'P3', kind: 'shadow.error' });
    await eventually(async () => (await deliveryOf(ctx.node, alert.id))?.deliveredAt && (await deliveryOf(ctx.node, acked.id))?.deliveredAt, 'both tickets delivered');
    const ack = await ctx.node.admin('POST', `/api/v1/alerts/${acked.id}/ack`, { label: 'true_positive' });
    assert.is(ack.status, 200, ack.text);
    assert.is(ack.body.slaDeadline, null);
    const chatBefore = ctx.receiver.at('/chat').length;

    ctx.node.clock.increment(23 * HOUR); // within its SLA: nothing (older P2 alerts of this suite do escalate)
    await ctx.node.sys.escalator.sweep();
    assert.is((await listed(ctx.node, alert.id))?.escalationLevel, 0);
    ctx.node.clock.increment(HOUR + 2 * 60_000); // past it: the periodic sweep on the clock escalates
    const up = await eventually(async () => (await deliveryOf(ctx.node, alert.id, 1))?.deliveredAt && (await deliveryOf(ctx.node, alert.id, 1)), 'the escalation delivered');
    assert.is(up.channel, 'chat');
    const chat = ctx.receiver.at('/chat').slice(chatBefore).map((c) => toEvent(c.body, c.headers));
    assert.equal(chat.map((e) => [e.id, e.type]), [[`${alert.id}/escalation/1`, ALERT_ESCALATED]]);
    assert.is(chat[0]!.data?.escalationLevel, 1);
    await ctx.node.sys.escalator.sweep();
    assert.is((await listed(ctx.node, alert.id))?.escalationLevel, 1, 'once per level');

    const shown = await listed(ctx.node, alert.id);
    assert.is(shown?.escalationLevel, 1);
    assert.is(shown?.channel, 'chat');
    assert.is(shown?.slaDeadline, new Date(new Date(shown!.escalatedAt).getTime() + 24 * HOUR).toISOString());
    assert.equal(shown?.deliveries.map((d: { channel: string; status: string }) => [d.channel, d.status]), [['ticket', 'delivered'], ['chat', 'delivered']]);
    const ackedShown = await listed(ctx.node, acked.id);
    assert.is(ackedShown?.escalationLevel, 0);

    await ctx.node.sys.audit.flush(); // records are sealed shortly after they are queued
    const audits = await ctx.node.sys.database.db.select().from(auditLog).where(eq(auditLog.action, 'alert.escalated'));
    const mine = audits.filter((a) => a.subject === `alert:${alert.id}`);
    assert.is(mine.length, 1);
    assert.equal((mine[0]!.payload as Record<string, unknown>).toLevel, 1);
    assert.is(audits.filter((a) => a.subject === `alert:${acked.id}`).length, 0);
  });

  test('escalation walks up: a P1 goes to the escalation webhook after 15 min, then stops at the top', async (ctx) => {
    const alert = await raise(ctx.node, { severity: 'P1', kind: 'production.rollback' });
    await eventually(async () => (await deliveryOf(ctx.node, alert.id))?.deliveredAt, 'the call went out');
    ctx.node.clock.increment(16 * 60_000);
    await eventually(async () => (await deliveryOf(ctx.node, alert.id, 1))?.deliveredAt, 'escalated to the lead');
    const lead = ctx.receiver.at('/oncall-lead').map((c) => toEvent(c.body, c.headers));
    assert.ok(lead.some((e) => e.id === `${alert.id}/escalation/1`));
    ctx.node.clock.increment(HOUR);
    await ctx.node.sys.escalator.sweep();
    assert.is((await listed(ctx.node, alert.id))?.escalationLevel, 1, 'nothing above the escalation channel');
    await ctx.node.sys.audit.flush();
    const audits = await ctx.node.sys.database.db.select().from(auditLog).where(eq(auditLog.subject, `alert:${alert.id}`));
    assert.equal(audits.filter((a) => a.action === 'alert.escalated').length, 1);
  });

  test('delivery survives a restart mid-retry', async (ctx) => {
    ctx.receiver.setFallback(503);
    const alert = await raise(ctx.node, { severity: 'P1', kind: 'lineage.corruption' });
    await eventually(async () => ctx.receiver.at('/call-sms').filter((c) => toEvent(c.body, c.headers).id === alert.id).length >= 2, 'two failed attempts');
    const attemptsBefore = (await deliveryOf(ctx.node, alert.id))?.attempts ?? 0;
    await ctx.node.sys.close();
    const whileDown = ctx.receiver.received.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.is(ctx.receiver.received.length, whileDown, 'nothing is sent while no node runs');
    ctx.receiver.setFallback(200);
    ctx.node = await boot(ctx.env, ctx.dataDir);
    prefixes.set(ctx.node, ctx.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg');
    const done = await eventually(async () => (await deliveryOf(ctx.node, alert.id))?.deliveredAt && (await deliveryOf(ctx.node, alert.id)), 'delivered by the new node', 30_000);
    assert.ok(done.attempts > attemptsBefore, `attempts carried over: ${attemptsBefore} then ${done.attempts}`);
    const seen = ctx.receiver.at('/call-sms').filter((c) => toEvent(c.body, c.headers).id === alert.id);
    assert.is(seen.filter((c) => c.reaction === 200).length, 1, 'accepted exactly once');
    assert.is(seen.length, done.attempts);
  });

  return test;
}

const pg = await requirePostgres();
const nats = await requireNats();

routingSuite('embedded (PGlite on disk, table-backed stream)', async () => ({ env: {}, cleanup: async () => undefined })).run();
if (pg && nats) routingSuite('Postgres + JetStream', () => realServicesEnv('alertroute', { TOLLGATE_NODE_ID: 'alert-node' })).run();
