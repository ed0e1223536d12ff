import { and, eq, isNull, sql } from 'drizzle-orm';
import { rowsOf } from '../../db/rows';
import type { Logger } from 'pino';
import type { StreamedEvent } from '../../actors/learning/event';
import type { ObservedEvent } from '../../actors/tenant/drift-window';
import type { Db } from '../../db/client';
import { learningEvents } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import type { Consumption, DurableStreams, StreamMsg } from '../ports/stream';

/** Stream messages (chunks of up to 200 events) stored together. */
export const STORE_BATCH = 32;
/** Rows per INSERT statement (PostgreSQL allows 65,535 parameters; a row has 12). */
const ROWS_PER_INSERT = 2_000;
/** How long a partial batch waits for more messages before it is stored. */
const LINGER_MS = 10;
/** Events per `observe` command (the actor's command limit is 256 KB). */
const OBSERVE_CHUNK = 400;

/** Hands newly stored events to the tenant's drift window (the tenant actor). */
export type ForwardEvents = (tenantId: string, events: ObservedEvent[]) => Promise<void>;

/**
 * Stores every event of the learning stream in `learning_events` (so windows
 * can be recomputed), idempotently: a redelivered event is a no-op. Messages
 * are stored in batches (one multi-row insert per batch) and acked after the
 * insert commits. A label (`actual` with a `predictionId`) joins the
 * prediction it belongs to; it is kept as a label row that windows skip.
 *
 * Newly stored events go on to the tenant actor's live window. That step may
 * fail without loss: a day's report is recomputed from the stored events.
 */
export function consumeLearningEvents(streams: DurableStreams, db: Db, prefix: string, log: Logger, forward?: ForwardEvents): Promise<Consumption> {
  const decoder = new TextDecoder();
  let buffer: StreamMsg[] = [];
  let linger: NodeJS.Timeout | null = null;
  let flushing: Promise<void> = Promise.resolve();
  let forwarding: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (linger) clearTimeout(linger);
    linger = null;
    const batch = buffer;
    buffer = [];
    if (batch.length === 0) return flushing;
    flushing = flushing.then(() => storeBatch(batch));
    return flushing;
  };

  return streams.consume({ stream: `${prefix}_LEARNING`, durable: 'learning-store', ackWaitMs: 30_000, prefetch: 2 * STORE_BATCH }, async (msg) => {
    buffer.push(msg);
    if (buffer.length >= STORE_BATCH) return flush();
    linger ??= setTimeout(() => void flush(), LINGER_MS);
  });

  async function storeBatch(batch: StreamMsg[]): Promise<void> {
    const messages: StreamMsg[] = [];
    const events: StreamedEvent[] = [];
    for (const msg of batch) {
      try {
        const parsed = JSON.parse(decoder.decode(msg.data)) as { events?: StreamedEvent[] } & StreamedEvent;
        // A chunk `{ events: [...] }`, or one event (as earlier versions published them).
        events.push(...(Array.isArray(parsed.events) ? parsed.events : [parsed]));
        messages.push(msg);
      } catch (err) {
        // Nothing can make a malformed message well-formed: log it and move on.
        log.error({ err, seq: msg.seq, msgId: msg.msgId }, 'malformed learning event on the stream; dropped');
        await msg.ack().catch(() => undefined);
      }
    }
    let fresh: ObservedEvent[][];
    let tenantsOf: string[];
    try {
      ({ fresh, tenantsOf } = await store(events));
    } catch (err) {
      // Not stored: nak, the stream redelivers; say why, so a stuck consumer is visible.
      log.warn({ err, messages: messages.length, firstSeq: messages[0]?.seq }, 'could not store learning events; they will be redelivered');
      for (const msg of messages) msg.nak(1_000);
      return;
    }
    await Promise.all(messages.map((msg) => msg.ack().catch((err: unknown) => log.warn({ err, seq: msg.seq }, 'ack not confirmed; the event may be redelivered (stored once)'))));
    if (!forward) return;
    // The window update of this batch overlaps the next batch's insert; at
    // most one batch is in flight, and per tenant the order is kept.
    const previous = forwarding;
    forwarding = previous.then(async () => {
      for (let t = 0; t < tenantsOf.length; t++) {
        const list = fresh[t]!;
        for (let i = 0; i < list.length; i += OBSERVE_CHUNK) {
          await forward(tenantsOf[t]!, list.slice(i, i + OBSERVE_CHUNK)).catch((err: unknown) =>
            log.warn({ err, tenantId: tenantsOf[t] }, 'could not update the live drift window; the day is recomputed from stored events when it closes'),
          );
        }
      }
    });
    await previous;
  }

  /** Stores the events; returns, per tenant, the ones that were new (for the live window). */
  async function store(events: StreamedEvent[]): Promise<{ fresh: ObservedEvent[][]; tenantsOf: string[] }> {
    const byTenant = new Map<string, ObservedEvent[]>();
    const add = (tenantId: string, e: ObservedEvent | null) => {
      if (!e) return;
      let list = byTenant.get(tenantId);
      if (!list) byTenant.set(tenantId, (list = []));
      list.push(e);
    };
    const labels = events.filter((e) => e.actual !== undefined && e.predictionId);
    const plain = events.filter((e) => !(e.actual !== undefined && e.predictionId));
    for (let i = 0; i < plain.length; i += ROWS_PER_INSERT) {
      const part = plain.slice(i, i + ROWS_PER_INSERT);
      const inserted = await insertMany(db, part);
      const isNew = new Set(inserted.map((r) => `${r.tenant_id}\u0000${r.idempotency_key}`));
      // delete, not has: a key twice in the batch (overlapping chunks) is new once.
      for (const e of part) if (isNew.delete(`${e.tenantId}\u0000${e.idempotencyKey}`)) add(e.tenantId, observed(e));
    }
    // A label joins its prediction (the earliest unlabelled row with its predictionId);
    // without one it is an event of its own.
    for (const e of labels) {
      const outcome = await db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        const [stored] = await tx.insert(learningEvents).values(row(e, false)).onConflictDoNothing().returning({ id: learningEvents.id });
        if (!stored) return null; // a redelivery: already handled
        const [joined] = await tx
          .update(learningEvents)
          .set({ actual: e.actual! })
          .where(
            and(
              eq(learningEvents.tenantId, e.tenantId as TenantId),
              eq(learningEvents.predictionId, e.predictionId!),
              isNull(learningEvents.actual),
              eq(learningEvents.isLabel, false),
            ),
          )
          .returning({ ts: learningEvents.occurredAt, modelVersionId: learningEvents.modelVersionId, prediction: learningEvents.prediction });
        if (joined) await tx.update(learningEvents).set({ isLabel: true }).where(eq(learningEvents.id, stored.id));
        return { joined: joined ?? null };
      });
      if (!outcome) continue;
      const { joined } = outcome;
      if (joined) {
        add(e.tenantId, { ts: joined.ts.toISOString(), modelVersionId: joined.modelVersionId ?? e.modelVersionId, features: {}, prediction: joined.prediction ?? e.prediction ?? 0, actual: e.actual!, labelOnly: true });
      } else add(e.tenantId, observed(e));
    }
    return { tenantsOf: [...byTenant.keys()], fresh: [...byTenant.values()] };
  }
}

/**
 * One INSERT for many events with a single parameter: the rows as JSON,
 * expanded by jsonb_to_recordset. A parameter per value (drizzle's multi-row
 * VALUES) costs more to build and to parse than the insert itself here.
 */
async function insertMany(db: Db, events: readonly StreamedEvent[]): Promise<Array<{ tenant_id: string; idempotency_key: string }>> {
  const rows = JSON.stringify(
    events.map((e) => ({
      tenant_id: e.tenantId,
      idempotency_key: e.idempotencyKey,
      model_version_id: e.modelVersionId,
      prediction_id: e.predictionId ?? null,
      segment: e.segment ?? null,
      source: e.source,
      prediction: e.prediction ?? null,
      actual: e.actual ?? null,
      features: e.features,
      outcome: e.outcome && e.outcome !== 'ok' ? e.outcome : null,
      occurred_at: e.ts,
      received_at: e.receivedAt,
    })),
  );
  const result = await db.execute(sql`
    insert into learning_events (tenant_id, idempotency_key, model_version_id, prediction_id, segment, source, prediction, actual, features, outcome, occurred_at, received_at)
    select tenant_id, idempotency_key, model_version_id, prediction_id, segment, source, prediction, actual, features, outcome, occurred_at, received_at
    from jsonb_to_recordset(${rows}::jsonb) as r(tenant_id text, idempotency_key text, model_version_id uuid, prediction_id text, segment text, source text,
      prediction double precision, actual double precision, features jsonb, outcome text, occurred_at timestamptz, received_at timestamptz)
    on conflict do nothing
    returning tenant_id, idempotency_key`);
  return rowsOf(result);
}

function row(e: StreamedEvent, isLabel: boolean) {
  return {
    tenantId: e.tenantId as TenantId,
    idempotencyKey: e.idempotencyKey,
    modelVersionId: e.modelVersionId as ModelVersionId,
    predictionId: e.predictionId ?? null,
    segment: e.segment ?? null,
    source: e.source,
    prediction: e.prediction ?? null,
    actual: e.actual ?? null,
    features: e.features,
    isLabel,
    outcome: e.outcome && e.outcome !== 'ok' ? e.outcome : null,
    occurredAt: new Date(e.ts),
    receivedAt: new Date(e.receivedAt),
  };
}

/** The event as the drift window sees it. A failed serving (error, timeout) is no observation of the model: null. */
function observed(e: StreamedEvent): ObservedEvent | null {
  if ((e.outcome ?? 'ok') !== 'ok' || e.prediction === undefined) return null;
  return { ts: new Date(e.ts).toISOString(), modelVersionId: e.modelVersionId, features: e.features, prediction: e.prediction, ...(e.actual !== undefined ? { actual: e.actual } : {}) };
}
