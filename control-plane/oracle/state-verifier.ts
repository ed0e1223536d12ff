import type { Db } from '../../db/client';
import { readAudit } from '../audit/audit-store';
import { hashBody } from '../audit/format';
import { verifyInclusion } from '../merkle';
import { auditLeafHash } from './audit-tree';
import type { SnapshotService, ServedSnapshot } from './snapshots';

export interface StateMismatch {
  tenantId: string;
  problem: string;
}

/**
 * Recomputes what the oracle served against the audit log itself: the
 * champion's model hash must be the artifact hash the log says it was
 * registered with, and the served entry must still be in the log at that
 * index with a proof to the served root — read afresh from the database, not
 * from the in-memory tree. A disagreement is a split view (P1).
 */
export class StateVerifier {
  constructor(
    private readonly db: Db,
    private readonly snapshots: SnapshotService,
  ) {}

  async check(): Promise<StateMismatch[]> {
    const problems: StateMismatch[] = [];
    await this.snapshots.tree.refresh(true);
    for (const served of [...this.snapshots.served.values()]) {
      const problem = await this.#check(served);
      if (problem) problems.push({ tenantId: served.tenantId, problem });
    }
    return problems;
  }

  async #check(s: ServedSnapshot): Promise<string | null> {
    const tree = this.snapshots.tree;
    const registered = tree.registeredHash(s.championId);
    if (registered === undefined) return `model ${s.championId} has no model.registered entry in the audit log`;
    if (registered !== s.modelHash) return `served modelHash ${s.modelHash ?? 'null'} but the audit log registered ${registered ?? 'null'} for model ${s.championId}`;
    const [entry] = await readAudit(this.db, s.leafIndex, 1);
    if (!entry || entry.seq !== s.leafIndex + 1) return `audit entry seq ${s.leafIndex + 1} is missing from the database`;
    if (hashBody(entry) !== entry.hash) return `audit entry seq ${entry.seq} no longer matches its hash`;
    if (entry.action !== 'model.transitioned' || entry.subject !== `model:${s.championId}`) return `audit entry seq ${entry.seq} is not the promotion of ${s.championId}`;
    try {
      const root = Uint8Array.from(Buffer.from(s.rootHash, 'base64'));
      verifyInclusion(s.leafIndex, s.treeSize, auditLeafHash(entry), tree.tree.inclusionProof(s.leafIndex, s.treeSize), root);
      const stored = Buffer.from(tree.tree.root(s.treeSize)).toString('base64');
      if (stored !== s.rootHash) return `served root ${s.rootHash} differs from the tree's root at size ${s.treeSize}`;
    } catch (err) {
      return `the served proof no longer verifies against the database: ${(err as Error).message}`;
    }
    return null;
  }
}
