import { z } from 'zod';

export const MAX_BATCH_EVENTS = 5_000;
export const MAX_FEATURES = 500;

/** One learning event as a data source posts it. */
export const EVENT_OUTCOMES = ['ok', 'error', 'timeout'] as const;

export const LearningEventSchema = z
  .strictObject({
  idempotencyKey: z.string().min(1).max(200),
  modelVersionId: z.uuid(),
  ts: z.iso.datetime({ offset: true }),
  features: z
    .record(z.string().min(1).max(100), z.number().finite())
    .refine((f) => Object.keys(f).length <= MAX_FEATURES, `at most ${MAX_FEATURES} features`),
  prediction: z.number().finite().optional(),
  actual: z.number().finite().optional(),
  /** How serving went: `error` / `timeout` (a shadow's error rate gates its promotion); default `ok`. */
  outcome: z.enum(EVENT_OUTCOMES).optional(),
  /** Which arm served it, as the data plane saw it (informational: the arm is `modelVersionId`). */
  role: z.enum(['champion', 'canary', 'shadow']).optional(),
  segment: z.string().min(1).max(100).optional(),
  /** Joins a later label (the same predictionId with `actual`) to this prediction. */
  predictionId: z.string().min(1).max(200).optional(),
  })
  .refine((e) => e.prediction !== undefined || (e.outcome !== undefined && e.outcome !== 'ok'), {
    message: 'prediction is required (it may be left out only when outcome is error or timeout)',
    path: ['prediction'],
  });
export type LearningEvent = z.infer<typeof LearningEventSchema>;

export const EventBatchSchema = z.strictObject({
  source: z.string().min(1).max(100).optional(),
  events: z.array(LearningEventSchema).min(1).max(MAX_BATCH_EVENTS),
  /** base64url Ed25519 over the RFC 8785 canonical JSON of `{ source, events }`. */
  signature: z.string().max(200).optional(),
});
export type EventBatch = z.infer<typeof EventBatchSchema>;

/** An event as the learning stream's consumer sees it: the event, its tenant and source. */
export interface StreamedEvent extends LearningEvent {
  tenantId: string;
  source: string | null;
  receivedAt: string;
}

/**
 * One learning-stream message: a chunk of one batch's events, with what they
 * share said once. (Earlier versions put the shared fields on every event, or
 * published one StreamedEvent per message; the consumer still reads both.)
 */
export interface StreamChunk {
  tenantId: string;
  source: string | null;
  receivedAt: string;
  events: LearningEvent[];
}
