import { z } from 'zod';

export const MAX_BATCH_EVENTS = 5_000;
export const MAX_FEATURES = 500;

/** One learning event as a data source posts it. */
export const LearningEventSchema = z.strictObject({
  idempotencyKey: z.string().min(1).max(200),
  modelVersionId: z.uuid(),
  ts: z.iso.datetime({ offset: true }),
  features: z
    .record(z.string().min(1).max(100), z.number().finite())
    .refine((f) => Object.keys(f).length <= MAX_FEATURES, `at most ${MAX_FEATURES} features`),
  prediction: z.number().finite(),
  actual: z.number().finite().optional(),
  segment: z.string().min(1).max(100).optional(),
  /** Joins a later label (the same predictionId with `actual`) to this prediction. */
  predictionId: z.string().min(1).max(200).optional(),
});
export type LearningEvent = z.infer<typeof LearningEventSchema>;

export const EventBatchSchema = z.strictObject({
  source: z.string().min(1).max(100).optional(),
  events: z.array(LearningEventSchema).min(1).max(MAX_BATCH_EVENTS),
  /** base64url Ed25519 over the RFC 8785 canonical JSON of `{ source, events }`. */
  signature: z.string().max(200).optional(),
});
export type EventBatch = z.infer<typeof EventBatchSchema>;

/** What travels on the learning stream: the event, its tenant and source. */
export interface StreamedEvent extends LearningEvent {
  tenantId: string;
  source: string | null;
  receivedAt: string;
}
