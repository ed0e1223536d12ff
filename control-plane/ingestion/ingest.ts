import { createHash } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { rowsOf } from '../../db/rows';
import { ForbiddenError, UnauthenticatedError } from '../../actors/errors';
import type { EventBatch, LearningEvent, StreamChunk } from '../../actors/learning/event';
import { roleAtLeast } from '../../actors/model-version/lifecycle';
import type { Db } from '../../db/client';
import { modelVersions } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import { canonicalJson, fromBase64Url } from '../audit/format';
import type { Clock } from '../ports/clock';
import type { DurableStreams } from '../ports/stream';
import { actorOf, type Principal } from '../../actors/principal';
import type { RegistryService } from '../registry/registry-service';
import type { SourceRegistry } from './sources';

const FUTURE_SKEW_MS = 5 * 60_000;
/** Events per stream message (JetStream's default message limit is 1 MB). */
const STREAM_CHUNK = 200;

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: Array<{ index: number; code: string; message: string }>;
}

/**
 * Takes a batch of learning events: checks who sends it (and its signature
 * when the source must sign), rejects events that cannot be right, and
 * publishes the rest on the learning stream, de-duplicated by idempotency key.
 */
export class IngestionService {
  constructor(
    private readonly db: Db,
    private readonly streams: DurableStreams,
    private readonly sources: SourceRegistry,
    private readonly registry: RegistryService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly subjectPrefix: string,
  ) {}

  async ingest(tenantId: string, batch: EventBatch, by: Principal): Promise<IngestResult> {
    await this.registry.getTenant(tenantId); // 404 for an unknown tenant
    if (!roleAtLeast(by.role, 'MANAGER')) {
      await this.#refuse(by, tenantId, batch, 'posting learning events needs the MANAGER role');
      throw new ForbiddenError(`posting learning events needs the MANAGER role; ${by.name} is ${by.role}`);
    }
    await this.#checkSource(tenantId, batch, by);

    const now = this.clock.now();
    const rejected: IngestResult['rejected'] = [];
    const models = new Set(
      (
        await this.db
          .select({ id: modelVersions.id })
          .from(modelVersions)
          .where(and(eq(modelVersions.tenantId, tenantId as TenantId), inArray(modelVersions.id, [...new Set(batch.events.map((e) => e.modelVersionId as ModelVersionId))])))
      ).map((r) => r.id as string),
    );
    const seen = new Set<string>();
    const known = await this.#storedKeys(tenantId, batch.events.map((e) => e.idempotencyKey));
    let duplicates = 0;
    const toPublish: Array<{ event: LearningEvent; msgId: string }> = [];
    batch.events.forEach((e, index) => {
      if (!models.has(e.modelVersionId)) {
        rejected.push({ index, code: 'NOT_FOUND', message: `model version ${e.modelVersionId} does not belong to tenant ${tenantId}` });
      } else if (Date.parse(e.ts) > now.getTime() + FUTURE_SKEW_MS) {
        rejected.push({ index, code: 'BAD_REQUEST', message: `ts ${e.ts} is in the future` });
      } else if (seen.has(e.idempotencyKey) || known.has(e.idempotencyKey)) {
        duplicates++;
      } else {
        seen.add(e.idempotencyKey);
        toPublish.push({ event: e, msgId: `${tenantId}:${e.idempotencyKey}` });
      }
    });

    // Events travel in chunks: one stream message per chunk, its msgId the
    // digest of its keys, so an identical replay is refused by the stream's
    // de-duplication as a whole. Every event is stored once whatever happens
    // (the table's unique key), and the keys stored are checked above.
    let accepted = 0;
    const subject = `${this.subjectPrefix}.learn.${tenantId}`;
    const encoder = new TextEncoder();
    const shared = { tenantId, source: batch.source ?? null, receivedAt: now.toISOString() };
    const chunks: Array<typeof toPublish> = [];
    for (let i = 0; i < toPublish.length; i += STREAM_CHUNK) chunks.push(toPublish.slice(i, i + STREAM_CHUNK));
    const acks = await Promise.all(
      chunks.map((chunk) => {
        const digest = createHash('sha256').update(chunk.map((c) => c.msgId).join('\n')).digest('base64url');
        const message: StreamChunk = { ...shared, events: chunk.map((c) => c.event) };
        return this.streams.publish(subject, encoder.encode(JSON.stringify(message)), `${tenantId}:c:${digest}`);
      }),
    );
    acks.forEach((ack, i) => (ack.duplicate ? (duplicates += chunks[i]!.length) : (accepted += chunks[i]!.length)));
    return { accepted, duplicates, rejected };
  }

  async #checkSource(tenantId: string, batch: EventBatch, by: Principal): Promise<void> {
    if (!batch.source) {
      if (batch.signature) throw new UnauthenticatedError('a signed batch must name its source');
      return;
    }
    const source = await this.sources.get(batch.source).catch(() => null);
    const refuse = async (why: string, Err: typeof ForbiddenError | typeof UnauthenticatedError) => {
      await this.#refuse(by, tenantId, batch, why);
      throw new Err(why);
    };
    if (!source) return refuse(`unknown data source ${batch.source}`, UnauthenticatedError);
    if (!source.tenantIds.includes(tenantId)) return refuse(`data source ${source.id} may not post events for tenant ${tenantId}`, ForbiddenError);
    if (!batch.signature) {
      if (source.requireSignature) return refuse(`data source ${source.id} must sign its batches; the signature is missing`, UnauthenticatedError);
      return;
    }
    let ok = false;
    try {
      ok = source.verify !== null && source.verify(new TextEncoder().encode(canonicalJson({ source: batch.source, events: batch.events })), fromBase64Url(batch.signature));
    } catch {
      ok = false;
    }
    if (!ok) return refuse(`the batch signature does not verify with data source ${source.id}'s key`, UnauthenticatedError);
  }

  /** Keys of this batch already stored: one parameter for all of them (a list of 5,000 parameters costs more to build and parse than the lookup). */
  async #storedKeys(tenantId: string, keys: string[]): Promise<Set<string>> {
    const result = await this.db.execute(sql`
      select idempotency_key as key from learning_events
       where tenant_id = ${tenantId}
         and idempotency_key in (select jsonb_array_elements_text(${JSON.stringify([...new Set(keys)])}::jsonb))`);
    return new Set(rowsOf<{ key: string }>(result).map((r) => r.key));
  }

  async #refuse(by: Principal, tenantId: string, batch: EventBatch, why: string): Promise<void> {
    await this.audit.append(this.db, {
      actor: actorOf(by),
      action: 'events.refused',
      subject: `tenant:${tenantId}`,
      payload: { source: batch.source ?? null, events: batch.events.length, reason: why },
    });
  }
}
