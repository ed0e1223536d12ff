import { and, eq, isNull } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { StreamedEvent } from '../../actors/learning/event';
import type { Db } from '../../db/client';
import { learningEvents } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import type { Consumption, DurableStreams, StreamMsg } from '../ports/stream';

/**
 * Stores every event of the learning stream in `learning_events` (so windows
 * can be recomputed), idempotently: a redelivered event is a no-op. A label
 * (`actual` with a `predictionId`) also joins the prediction it belongs to.
 */
export function consumeLearningEvents(streams: DurableStreams, db: Db, prefix: string, log: Logger): Promise<Consumption> {
  const decoder = new TextDecoder();
  return streams.consume({ stream: `${prefix}_LEARNING`, durable: 'learning-store', ackWaitMs: 30_000 }, async (msg) => {
    try {
      await store(msg);
    } catch (err) {
      // Thrown = nak: the stream redelivers it; say why, so a stuck consumer is visible.
      log.warn({ err, seq: msg.seq, msgId: msg.msgId, deliveryCount: msg.deliveryCount }, 'could not store a learning event; it will be redelivered');
      throw err;
    }
  });

  async function store(msg: StreamMsg): Promise<void> {
    let e: StreamedEvent;
    try {
      e = JSON.parse(decoder.decode(msg.data)) as StreamedEvent;
    } catch (err) {
      // Nothing can make a malformed message well-formed: log it and move on.
      log.error({ err, seq: msg.seq, msgId: msg.msgId }, 'malformed learning event on the stream; dropped');
      await msg.ack();
      return;
    }
    await db
      .insert(learningEvents)
      .values({
        tenantId: e.tenantId as TenantId,
        idempotencyKey: e.idempotencyKey,
        modelVersionId: e.modelVersionId as ModelVersionId,
        predictionId: e.predictionId ?? null,
        segment: e.segment ?? null,
        source: e.source,
        prediction: e.prediction,
        actual: e.actual ?? null,
        features: e.features,
        occurredAt: new Date(e.ts),
        receivedAt: new Date(e.receivedAt),
      })
      .onConflictDoNothing();
    if (e.actual !== undefined && e.predictionId) {
      await db
        .update(learningEvents)
        .set({ actual: e.actual })
        .where(and(eq(learningEvents.tenantId, e.tenantId as TenantId), eq(learningEvents.predictionId, e.predictionId), isNull(learningEvents.actual)));
    }
    await msg.ack();
  }
}
