import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { Db } from '../../db/client';
import { readAudit } from '../audit/audit-store';
import { canonicalJson, type AuditEntry } from '../audit/format';
import { leafHash, MerkleTree } from '../merkle';

const PAGE = 2_000;
/** How stale the in-memory tree may be before a snapshot catches it up. */
export const DEFAULT_CATCH_UP_MS = 250;

/** SHA-256(0x00 ‖ RFC 8785 canonical JSON of the entry): the leaf of one audit entry. */
export function auditLeafHash(entry: AuditEntry): Uint8Array {
  return leafHash(utf8ToBytes(canonicalJson(entry)));
}

/**
 * The RFC 6962 tree over the audit log in sequence order (leaf i = entry
 * seq i+1), kept in memory and extended with new entries as they are
 * sealed: building it reads the log once at start; afterwards a snapshot
 * costs O(log n). While reading, it also remembers which entry last made
 * each model version CHAMPION and the artifact hash each was registered with.
 */
export class AuditTree {
  readonly tree = new MerkleTree();
  readonly #championEntry = new Map<string, number>();
  readonly #registeredHash = new Map<string, string | null>();
  #catchingUp: Promise<void> | null = null;
  #lastCatchUp = -Infinity;

  constructor(
    private readonly db: Db,
    private readonly catchUpMs = DEFAULT_CATCH_UP_MS,
  ) {}

  get size(): number {
    return this.tree.size;
  }

  /** Seq of the audit entry that last made this model version CHAMPION, if read. */
  championSeq(modelId: string): number | undefined {
    return this.#championEntry.get(modelId);
  }

  /** The artifact hash the audit log says this model version was registered with. */
  registeredHash(modelId: string): string | null | undefined {
    return this.#registeredHash.get(modelId);
  }

  /** Catches up if the tree is older than `catchUpMs` (or `force`); one reader at a time. */
  async refresh(force = false): Promise<void> {
    if (!force && performance.now() - this.#lastCatchUp < this.catchUpMs) return;
    if (this.#catchingUp) {
      await this.#catchingUp;
      // A forced refresh must read after it was asked for, not join an older pass.
      if (!force) return;
    }
    await (this.#catchingUp ??= this.#catchUp().finally(() => (this.#catchingUp = null)));
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      const page = await readAudit(this.db, this.tree.size, PAGE);
      for (const entry of page) {
        if (entry.seq !== this.tree.size + 1) throw new Error(`audit log gap: expected seq ${this.tree.size + 1}, read ${entry.seq}`);
        this.tree.append(auditLeafHash(entry));
        this.#remember(entry);
      }
      if (page.length < PAGE) break;
    }
    this.#lastCatchUp = performance.now();
  }

  #remember(entry: AuditEntry): void {
    const payload = entry.payload as Record<string, unknown> | null;
    if (!payload || !entry.subject.startsWith('model:')) return;
    const modelId = entry.subject.slice('model:'.length);
    if (entry.action === 'model.transitioned' && payload.to === 'CHAMPION') this.#championEntry.set(modelId, entry.seq);
    if (entry.action === 'model.registered') this.#registeredHash.set(modelId, typeof payload.artifactSha256 === 'string' ? payload.artifactSha256 : null);
  }
}
