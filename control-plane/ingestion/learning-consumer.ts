import { and, eq, isNull, sql } from 'drizzle-orm';
import { rowsOf } from '../../db/rows';
import type { Logger } from 'pino';
import type { StreamChunk, StreamedEvent } from '../../actors/learning/event';
import type { ObservedEvent } from '../../actors/tenant/drift-window';
import type { Db } from '../../db/client';
import { learningEvents } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import type { Consumption, DurableStreams, StreamMsg } from '../ports/stream';

/** Stream messages (chunks of up to 200 events) stored together. */
export const STORE_BATCH = 32;
/**
 * Batches stored at once. One at a time left both PostgreSQL and this process
 * half idle (each waited for the other); two keep both busy.
 */
const IN_FLIGHT = 2;
/** Rows per INSERT statement (PostgreSQL allows 65,535 parameters; a row has 12). */
const ROWS_PER_INSERT = 2_000;
/** How long a partial batch waits for more messages before it is stored. */
const LINGER_MS = 10;
/** Events per `observe` command (the actor's command limit is 256 KB). */
const OBSERVE_CHUNK = 400;

/** Per tenant, the events a batch stored for the first time. */
interface Stored {
  fresh: ObservedEvent[][];
  tenantsOf: string[];
}

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
export async function consumeLearningEvents(streams: DurableStreams, db: Db, prefix: string, log: Logger, forward?: ForwardEvents): Promise<Consumption> {
  const decoder = new TextDecoder();
  let buffer: StreamMsg[] = [];
  let linger: NodeJS.Timeout | null = null;
  // Batches being stored; the handler waits for a free slot before taking more messages.
  let running = 0;
  const waitingForSlot: Array<() => void> = [];
  // In stream order: the previous batch's events are stored (labels join predictions
  // stored before them) and forwarded (per tenant, the window sees events in order).
  let previousStored: Promise<unknown> = Promise.resolve();
  let forwarding: Promise<void> = Promise.resolve();

  const flush = (): void => {
    if (linger) clearTimeout(linger);
    linger = null;
    const batch = buffer;
    buffer = [];
    if (batch.length === 0) return;
    running++;
    const earlier = previousStored;
    const stored = storeBatch(batch, earlier);
    previousStored = stored;
    const earlierForward = forwarding;
    forwarding = Promise.all([earlierForward, stored]).then(([, fresh]) => (fresh && forward ? forwardAll(fresh) : undefined));
    // The slot frees once this batch is stored and the one before it forwarded: at most
    // IN_FLIGHT inserts at once, and the window never more than a batch behind.
    void Promise.all([stored, earlierForward]).then(() => {
      running--;
      waitingForSlot.shift()?.();
    });
  };
  const slot = (): Promise<void> | undefined => (running < IN_FLIGHT ? undefined : new Promise((resolve) => waitingForSlot.push(resolve)));

  const consumption = await streams.consume({ stream: `${prefix}_LEARNING`, durable: 'learning-store', ackWaitMs: 30_000, prefetch: (IN_FLIGHT + 1) * STORE_BATCH }, async (msg) => {
    buffer.push(msg);
    if (buffer.length >= STORE_BATCH) {
      flush();
      return slot();
    }
    linger ??= setTimeout(flush, LINGER_MS);
  });
  return {
    stop: async () => {
      await consumption.stop();
      flush();
      await Promise.all([previousStored, forwarding]);
    },
  };

  async function forwardAll({ fresh, tenantsOf }: Stored): Promise<void> {
    for (let t = 0; t < tenantsOf.length; t++) {
      const list = fresh[t]!;
      for (let i = 0; i < list.length; i += OBSERVE_CHUNK) {
        await forward!(tenantsOf[t]!, list.slice(i, i + OBSERVE_CHUNK)).catch((err: unknown) =>
          log.warn({ err, tenantId: tenantsOf[t] }, 'could not update the live drift window; the day is recomputed from stored events when it closes'),
        );
      }
    }
  }

  /** Parses, stores and acks one batch; null when nothing was stored (the messages are nak'd). Never rejects. */
  async function storeBatch(batch: StreamMsg[], earlier: Promise<unknown>): Promise<Stored | null> {
    const messages: StreamMsg[] = [];
    const events: StreamedEvent[] = [];
    for (const msg of batch) {
      try {
        for (const e of eventsOfMessage(decoder.decode(msg.data))) events.push(e);
        messages.push(msg);
      } catch (err) {
        // Nothing can make a malformed message well-formed: log it and move on (one bad
        // message must not hold back the batch it arrived with).
        log.error({ err, seq: msg.seq, msgId: msg.msgId }, 'malformed learning event on the stream; dropped');
        await msg.ack().catch(() => undefined);
      }
    }
    let stored: Stored;
    try {
      stored = await store(events, earlier);
    } catch (err) {
      // Not stored: nak, the stream redelivers; say why, so a stuck consumer is visible.
      log.warn({ err, messages: messages.length, firstSeq: messages[0]?.seq }, 'could not store learning events; they will be redelivered');
      for (const msg of messages) msg.nak(1_000);
      return null;
    }
    await Promise.all(messages.map((msg) => msg.ack().catch((err: unknown) => log.warn({ err, seq: msg.seq }, 'ack not confirmed; the event may be redelivered (stored once)'))));
    return stored;
  }

  /** Stores the events; returns, per tenant, the ones that were new (for the live window). */
  async function store(events: StreamedEvent[], earlier: Promise<unknown>): Promise<Stored> {
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
    // without one it is an event of its own. Earlier batches' predictions must be stored first.
    if (labels.length > 0) await earlier;
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
 * The events of one stream message: a chunk with the shared fields said once
 * (the current form), a chunk whose events carry them, or one event (the
 * first versions). Throws when it is not JSON or an event lacks what storing
 * it needs.
 */
export function eventsOfMessage(text: string): StreamedEvent[] {
  const parsed = JSON.parse(text) as Partial<StreamChunk> & { events?: unknown };
  const events = (Array.isArray(parsed.events) ? parsed.events : [parsed]) as StreamedEvent[];
  const shared = Array.isArray(parsed.events) && typeof parsed.tenantId === 'string' ? { tenantId: parsed.tenantId, source: parsed.source ?? null, receivedAt: parsed.receivedAt! } : null;
  for (const e of events) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error('an event is not an object');
    if (shared) Object.assign(e, shared);
    for (const field of ['tenantId', 'idempotencyKey', 'modelVersionId', 'ts', 'receivedAt'] as const) {
      if (typeof e[field] !== 'string') throw new Error(`an event has no ${field}`);
    }
    if (typeof e.features !== 'object' || e.features === null) throw new Error('an event has no features');
  }
  return events;
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
