import { eq, inArray } from 'drizzle-orm';
import { NotFoundError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { modelVersions, tenants, type TenantId } from '../../db/schema';
import { readAudit, type AuditLog } from '../audit/audit-store';
import type { AuditEntry } from '../audit/format';
import type { Clock } from '../ports/clock';
import type { Signer } from '../ports/signer';
import { AuditTree, DEFAULT_CATCH_UP_MS } from './audit-tree';

/** A response body as sent (bytes, encoded once per snapshot, not per request) and its `Tollgate-Signature` value. */
export interface SignedBody {
  bytes: Buffer<ArrayBuffer>;
  signature: string;
}

/** What a partner learns about one tenant, with the proof to check it offline. */
export interface TrustSnapshot {
  tenantId: string;
  championId: string | null;
  modelHash: string | null;
  stage: string;
  drift: unknown;
  canary: unknown;
  issuedAt: string;
  checkpoint: { treeSize: number; rootHash: string };
  proof: { leafIndex: number; treeSize: number; auditPath: string[]; entry: AuditEntry } | null;
}

export interface SnapshotOptions {
  /** The tenant's latest drift summary (the lead wires the drift window); null when unknown. */
  latestDrift?: (tenantId: string) => Promise<unknown | null>;
  /** The tenant's canary state; null when unknown. */
  canaryState?: (tenantId: string) => Promise<unknown | null>;
  catchUpMs?: number;
}

export const MAX_BATCH_TENANTS = 100;
/** How many tenants' last served snapshot the StateVerifier re-checks. */
const MAX_SERVED = 10_000;

/** What was last served for a tenant, for the StateVerifier to recompute. */
export interface ServedSnapshot {
  tenantId: string;
  championId: string;
  modelHash: string | null;
  leafIndex: number;
  treeSize: number;
  rootHash: string;
}
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * Builds TrustSnapshots: the tenant's champion and its artifact hash, an
 * RFC 6962 checkpoint over the audit log, and the inclusion proof of the
 * entry that made the champion. `sign` gives the exact body bytes and the
 * detached Ed25519 signature header.
 */
export class SnapshotService {
  readonly tree: AuditTree;
  /** Audit entries are immutable: the champions' entries are read once. */
  readonly #entryCache = new Map<number, AuditEntry>();
  /** Signed single-tenant answers, re-served while younger than the tree's catch-up interval. */
  readonly #signed = new Map<string, { at: number; answer: Promise<SignedBody> }>();
  readonly #reuseMs: number;
  /** The last snapshot served per tenant (insertion order = age). */
  readonly served = new Map<string, ServedSnapshot>();
  readonly #latestDrift: (tenantId: string) => Promise<unknown | null>;
  readonly #canaryState: (tenantId: string) => Promise<unknown | null>;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly signer: Signer,
    private readonly clock: Clock,
    options: SnapshotOptions = {},
  ) {
    this.tree = new AuditTree(db, options.catchUpMs);
    this.#reuseMs = options.catchUpMs ?? DEFAULT_CATCH_UP_MS;
    this.#latestDrift = options.latestDrift ?? (async () => null);
    this.#canaryState = options.canaryState ?? (async () => null);
  }

  /** One tenant; NotFoundError when there is no such tenant. */
  async snapshot(tenantId: string): Promise<TrustSnapshot> {
    const [one] = await this.batch([tenantId]);
    if (!one || 'error' in one) throw new NotFoundError(`no tenant ${tenantId}`);
    return one;
  }

  /** Several tenants against one checkpoint; unknown ones come back as `{ tenantId, error }`. */
  async batch(tenantIds: readonly string[]): Promise<Array<TrustSnapshot | { tenantId: string; error: { code: string; message: string } }>> {
    const rows = await this.db
      .select({ id: tenants.id, stage: tenants.stage, championId: tenants.championId, modelHash: modelVersions.artifactSha256 })
      .from(tenants)
      .leftJoin(modelVersions, eq(modelVersions.id, tenants.championId))
      .where(inArray(tenants.id, tenantIds as TenantId[]));
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    await this.tree.refresh();
    // A champion whose entry the tree has not read yet: seal what is queued and read again.
    if (rows.some((r) => r.championId && this.tree.championSeq(r.championId) === undefined)) {
      await this.audit.flush();
      await this.tree.refresh(true);
    }
    const treeSize = this.tree.size;
    const checkpoint = { treeSize, rootHash: b64(this.tree.tree.root(treeSize)) };
    const issuedAt = this.clock.now().toISOString();
    const seqs = rows.map((r) => (r.championId ? this.tree.championSeq(r.championId) : undefined)).filter((s): s is number => s !== undefined);
    const entries = await this.#entries(seqs);
    return Promise.all(
      tenantIds.map(async (tenantId) => {
        const row = byId.get(tenantId);
        if (!row) return { tenantId, error: { code: 'NOT_FOUND', message: `no tenant ${tenantId}` } };
        const seq = row.championId ? this.tree.championSeq(row.championId) : undefined;
        const entry = seq === undefined ? undefined : entries.get(seq);
        const [drift, canary] = await Promise.all([this.#latestDrift(tenantId), this.#canaryState(tenantId)]);
        if (row.championId && seq !== undefined) this.#remember({ tenantId, championId: row.championId, modelHash: row.modelHash ?? null, leafIndex: seq - 1, treeSize, rootHash: checkpoint.rootHash });
        return {
          tenantId,
          championId: row.championId ?? null,
          modelHash: row.championId ? (row.modelHash ?? null) : null,
          stage: row.stage,
          drift: drift ?? null,
          canary: canary ?? null,
          issuedAt,
          checkpoint,
          proof:
            seq !== undefined && entry
              ? { leafIndex: seq - 1, treeSize, auditPath: this.tree.tree.inclusionProof(seq - 1, treeSize).map(b64), entry }
              : null,
        } satisfies TrustSnapshot;
      }),
    );
  }

  /**
   * One tenant's signed answer. A signed snapshot younger than the catch-up
   * interval is served again as it is (with its own issuedAt): it is no
   * staler than the tree it was proven against, and a flood of partner
   * requests then costs a token check, not a database read and a signature.
   */
  async signedSnapshot(tenantId: string): Promise<SignedBody> {
    const now = performance.now();
    const hit = this.#signed.get(tenantId);
    if (hit && now - hit.at < this.#reuseMs) return hit.answer;
    // One build per tenant at a time: concurrent requests share it.
    const answer = this.snapshot(tenantId).then((s) => this.sign(s));
    if (this.#signed.size >= MAX_SERVED) this.#signed.clear();
    this.#signed.set(tenantId, { at: now, answer });
    answer.catch(() => this.#signed.get(tenantId)?.answer === answer && this.#signed.delete(tenantId));
    return answer;
  }

  /** The exact response bytes and their detached signature header value. */
  sign(body: unknown): SignedBody {
    const bytes = Buffer.from(JSON.stringify(body), 'utf8');
    const sig = Buffer.from(this.signer.sign(bytes)).toString('base64url');
    return { bytes, signature: `kid=${this.signer.kid}, sig=${sig}` };
  }

  #remember(s: ServedSnapshot): void {
    this.served.delete(s.tenantId);
    this.served.set(s.tenantId, s);
    if (this.served.size > MAX_SERVED) this.served.delete(this.served.keys().next().value!);
  }

  async #entries(seqs: number[]): Promise<Map<number, AuditEntry>> {
    await Promise.all(
      [...new Set(seqs)]
        .filter((seq) => !this.#entryCache.has(seq))
        .map(async (seq) => {
          const [entry] = await readAudit(this.db, seq - 1, 1);
          if (entry && entry.seq === seq) this.#entryCache.set(seq, entry);
        }),
    );
    return this.#entryCache;
  }
}
