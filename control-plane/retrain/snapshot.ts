import { randomUUID } from 'node:crypto';
import { and, asc, eq, gte, inArray, isNotNull, lt } from 'drizzle-orm';
import { NotFoundError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { datasetSnapshots, learningEvents } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import { canonicalJson } from '../audit/format';
import type { Clock } from '../ports/clock';
import type { Fence, GuardedWrites } from './guarded-writes';
import { merkleRoot } from './merkle';

/** Which learning events a snapshot takes: a time window, labelled events only. */
export interface SnapshotSpec {
  readonly from: string;
  readonly to: string;
  /** Only events with an `actual` (training needs labels). */
  readonly labelledOnly: boolean;
}

/** One row of a snapshot, as it is hashed and as trainers receive it. */
export interface SnapshotRow {
  id: number;
  idempotencyKey: string;
  occurredAt: string;
  segment: string | null;
  features: Record<string, number>;
  prediction: number | null;
  actual: number | null;
}

export interface SnapshotManifest {
  spec: SnapshotSpec;
  /** The exact rows, in hashing order. */
  eventIds: number[];
  featureNames: string[];
}

export interface Snapshot {
  id: string;
  tenantId: string;
  merkleRoot: string;
  rowCount: number;
  manifest: SnapshotManifest;
  rows: SnapshotRow[];
}

/** The bytes a row contributes as a Merkle leaf: its canonical JSON. */
export function leafOf(row: SnapshotRow): Uint8Array {
  return Buffer.from(canonicalJson(row));
}

function toRow(r: typeof learningEvents.$inferSelect): SnapshotRow {
  return {
    id: r.id,
    idempotencyKey: r.idempotencyKey,
    occurredAt: r.occurredAt.toISOString(),
    segment: r.segment,
    features: r.features as Record<string, number>,
    prediction: r.prediction,
    actual: r.actual,
  };
}

/**
 * Dataset snapshots: the exact learning events a job trains on, fixed with
 * a Merkle root over their rows (stored immutably; the table refuses
 * UPDATE and DELETE), so any later change of those rows is detectable.
 */
export class Snapshots {
  constructor(
    private readonly db: Db,
    private readonly writes: GuardedWrites,
    private readonly clock: Clock,
  ) {}

  async select(tenantId: string, spec: SnapshotSpec): Promise<SnapshotRow[]> {
    const rows = await this.db
      .select()
      .from(learningEvents)
      .where(
        and(
          eq(learningEvents.tenantId, tenantId as TenantId),
          gte(learningEvents.occurredAt, new Date(spec.from)),
          lt(learningEvents.occurredAt, new Date(spec.to)),
          spec.labelledOnly ? isNotNull(learningEvents.actual) : undefined,
        ),
      )
      .orderBy(asc(learningEvents.id));
    return rows.map(toRow);
  }

  /** Selects, hashes and stores a snapshot under the job's fence. */
  async take(fence: Fence, tenantId: string, featureSignature: string, spec: SnapshotSpec): Promise<Snapshot> {
    const rows = await this.select(tenantId, spec);
    const root = merkleRoot(rows.map(leafOf)).toString('hex');
    const featureNames = [...new Set(rows.flatMap((r) => Object.keys(r.features)))].sort();
    const manifest: SnapshotManifest = { spec, eventIds: rows.map((r) => r.id), featureNames };
    const id = randomUUID();
    await this.writes.insertSnapshot(fence, { id, tenantId, featureSignature, merkleRoot: root, rowCount: rows.length, manifest, createdAt: this.clock.now() });
    return { id, tenantId, merkleRoot: root, rowCount: rows.length, manifest, rows };
  }

  /** Loads a stored snapshot with its rows as they are now. */
  async load(id: string): Promise<Snapshot> {
    const [s] = await this.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.id, id)).limit(1);
    if (!s) throw new NotFoundError(`no dataset snapshot ${id}`);
    const manifest = s.manifest as SnapshotManifest;
    const found = manifest.eventIds.length
      ? await this.db.select().from(learningEvents).where(inArray(learningEvents.id, manifest.eventIds))
      : [];
    const byId = new Map(found.map((r) => [r.id, toRow(r)]));
    const rows = manifest.eventIds.map((eid) => byId.get(eid)).filter((r): r is SnapshotRow => r !== undefined);
    return { id: s.id, tenantId: s.tenantId, merkleRoot: s.merkleRoot, rowCount: s.rowCount, manifest, rows };
  }

  /** Recomputes the root over the rows as they are now: any changed, missing or extra row shows. */
  async verify(id: string): Promise<{ ok: boolean; stored: string; recomputed: string; rowCount: number; present: number }> {
    const snap = await this.load(id);
    const recomputed = merkleRoot(snap.rows.map(leafOf)).toString('hex');
    return { ok: recomputed === snap.merkleRoot && snap.rows.length === snap.rowCount, stored: snap.merkleRoot, recomputed, rowCount: snap.rowCount, present: snap.rows.length };
  }
}
