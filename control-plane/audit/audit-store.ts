import { asc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditHead, auditLog, signingKeys } from '../../db/schema';
import type { Clock } from '../ports/clock';
import type { Signer } from '../ports/signer';
import type { AuditEntry } from './format';
import { sealEntry, type AuditInput } from './seal';
import { verifyChain, type VerifyReport } from './verify';
import { jwkVerifier } from '../adapters/ed25519-signer';
import type { Ed25519PublicJwk } from '../ports/signer';

/** Appends audit entries inside the caller's transaction. */
export class AuditLog {
  constructor(
    private readonly signer: Signer,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends one entry in `tx`. Take it as late as possible in the
   * transaction: the chain lock is held until commit.
   */
  async append(tx: Db, input: AuditInput): Promise<AuditEntry> {
    // The row lock on the head serializes appends across all nodes, so the
    // sequence has no gaps; it is held until the caller's commit.
    const [head] = await tx.select({ seq: auditHead.seq, hash: auditHead.hash }).from(auditHead).where(eq(auditHead.id, 1)).for('update');
    if (!head) throw new Error('audit_head is missing: the migrations did not run');
    return this.appendAfter(tx, head, input);
  }

  /**
   * Appends after a head the caller has already locked in `tx` (a hot path
   * folds `SELECT … FROM audit_head … FOR UPDATE` into its own statement).
   */
  async appendAfter(tx: Db, head: { seq: number; hash: string }, input: AuditInput): Promise<AuditEntry> {
    const e = sealEntry(input, head, this.clock.now(), this.signer);
    await tx.execute(sql`
      with appended as (
        insert into audit_log (seq, at, actor, action, subject, payload, payload_digest, prev_hash, hash, kid, signature)
        values (${e.seq}, ${e.at}, ${e.actor}, ${e.action}, ${e.subject}, ${JSON.stringify(e.payload)}::jsonb,
                ${e.payloadDigest}, ${e.prevHash}, ${e.hash}, ${e.kid}, ${e.signature})
      )
      update audit_head set seq = ${e.seq}, hash = ${e.hash} where id = 1`);
    return e;
  }

  /** Appends in a transaction of its own (refusals, which roll nothing else). */
  appendAlone(db: Db, input: AuditInput): Promise<AuditEntry> {
    return db.transaction((tx) => this.append(tx as unknown as Db, input));
  }

  /** Publishes this node's public key so any verifier can check its entries. */
  async registerKey(db: Db): Promise<void> {
    await db
      .insert(signingKeys)
      .values({ kid: this.signer.kid, alg: 'EdDSA', publicKeyJwk: this.signer.publicKeyJwk })
      .onConflictDoNothing();
  }
}

export function toEntry(row: typeof auditLog.$inferSelect): AuditEntry {
  return { ...row };
}

export async function readAudit(db: Db, after: number, limit: number): Promise<AuditEntry[]> {
  const rows = await db.select().from(auditLog).where(gt(auditLog.seq, after)).orderBy(asc(auditLog.seq)).limit(limit);
  return rows.map(toEntry);
}

export async function listKeys(db: Db): Promise<Array<{ kid: string; alg: string; publicKeyJwk: Ed25519PublicJwk }>> {
  const rows = await db.select().from(signingKeys).orderBy(asc(signingKeys.createdAt));
  return rows.map((r) => ({ kid: r.kid, alg: r.alg, publicKeyJwk: r.publicKeyJwk as Ed25519PublicJwk }));
}

/** Streams the whole log in pages, in sequence order. */
export async function* iterateAudit(db: Db, pageSize = 1000): AsyncGenerator<AuditEntry> {
  let after = 0;
  for (;;) {
    const page = await readAudit(db, after, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.seq;
  }
}

/** Recomputes the stored chain and every signature against the registered keys. */
export async function verifyStoredChain(db: Db): Promise<VerifyReport> {
  const keys = new Map((await listKeys(db)).map((k) => [k.kid, jwkVerifier(k.publicKeyJwk)]));
  const entries: AuditEntry[] = [];
  for await (const e of iterateAudit(db)) entries.push(e);
  return verifyChain(entries, (kid, message, signature) => {
    const verify = keys.get(kid);
    return verify ? verify(message, signature) : 'unknown-key';
  });
}
