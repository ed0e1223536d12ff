import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditHead, governanceCommittees, governanceMembers, type CommitteeRow, type MemberRow } from '../../db/schema';
import { BadRequestError, IllegalTransitionError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { CeremonyInputError, committeeDigest, validateMembers, verifyCommitteeProof, type SignedCommittee } from './ceremony';
import type { GovernanceGate } from './gate';

export interface Committee {
  row: CommitteeRow;
  members: MemberRow[];
}

/** The active committee (or null) as seen by `db` (a transaction, usually). */
export async function activeCommittee(db: Db): Promise<Committee | null> {
  const [row] = await db.select().from(governanceCommittees).where(eq(governanceCommittees.active, true)).limit(1);
  if (!row) return null;
  return { row, members: await membersOf(db, row.id) };
}

/** The members of a committee, in share order. */
export async function membersOf(db: Db, committeeId: string): Promise<MemberRow[]> {
  return db.select().from(governanceMembers).where(eq(governanceMembers.committeeId, committeeId)).orderBy(asc(governanceMembers.shareIndex));
}

/** A committee by id, active or retired. */
export async function committeeById(db: Db, committeeId: string): Promise<CommitteeRow | null> {
  const [row] = await db.select().from(governanceCommittees).where(and(eq(governanceCommittees.id, committeeId))).limit(1);
  return row ?? null;
}

/** Public view of a committee (what GET /governance/committee returns). */
export function committeeDto(c: Committee) {
  return {
    committeeId: c.row.id,
    publicKey: c.row.publicKey,
    threshold: c.row.threshold,
    shareCount: c.row.shareCount,
    digest: c.row.digest,
    createdBy: c.row.createdBy,
    createdAt: c.row.createdAt.toISOString(),
    members: c.members.map((m) => ({ id: m.memberId, name: m.name, publicKey: m.publicKey, index: m.shareIndex, commitment: m.commitment })),
  };
}

/**
 * Installs a committee produced by the ceremony (`tollgate committee init`,
 * which holds the key only in its own memory). The first committee needs an
 * ADMIN; replacing one is the governance-locked `committee.change`.
 */
export class CommitteeStore {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly gate: GovernanceGate,
  ) {}

  get(): Promise<Committee | null> {
    return activeCommittee(this.db);
  }

  async install(doc: SignedCommittee, unlockId: string | undefined, by: Principal): Promise<ReturnType<typeof committeeDto> & { audit: { seq: number; hash: string } }> {
    try {
      validateMembers(doc.members, doc.threshold);
    } catch (err) {
      if (err instanceof CeremonyInputError) throw new BadRequestError(err.message);
      throw err;
    }
    doc.members.forEach((m, i) => {
      if (m.index !== i + 1) throw new BadRequestError(`member ${m.id}: index must be ${i + 1} (members in share order)`);
    });
    if (!verifyCommitteeProof(doc)) throw new BadRequestError('the ceremony proof does not verify against the committee public key');
    const digest = committeeDigest(doc);
    const now = this.clock.now();
    await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const current = await activeCommittee(tx);
      // Without an unlock only the very first committee: a retired one with no successor means tampering.
      const [anyCommittee] = await tx.select({ id: governanceCommittees.id }).from(governanceCommittees).limit(1);
      if (!current && anyCommittee) {
        throw new IllegalTransitionError('committees existed but none is active (the database was changed outside Tollgate); refusing an unsigned install');
      }
      if (current) {
        await this.gate.requireUnlock(tx, 'committee.change', { committeeDigest: digest }, unlockId, by);
        await tx.update(governanceCommittees).set({ active: false }).where(eq(governanceCommittees.id, current.row.id));
      }
      await tx.insert(governanceCommittees).values({
        id: doc.committeeId,
        publicKey: doc.publicKey,
        threshold: doc.threshold,
        shareCount: doc.members.length,
        salt: doc.salt,
        proof: doc.proof,
        digest,
        createdBy: by.name,
        createdAt: now,
      });
      await tx.insert(governanceMembers).values(
        doc.members.map((m) => ({ committeeId: doc.committeeId, memberId: m.id, name: m.name, publicKey: m.publicKey, shareIndex: m.index, commitment: m.commitment })),
      );
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: current ? 'governance.committee.changed' : 'governance.committee.created',
        subject: `committee:${doc.committeeId}`,
        payload: {
          committeeId: doc.committeeId,
          previous: current?.row.id ?? null,
          publicKey: doc.publicKey,
          threshold: doc.threshold,
          digest,
          members: doc.members.map((m) => ({ id: m.id, name: m.name, publicKey: m.publicKey, index: m.index, commitment: m.commitment })),
        },
      });
    });
    await this.audit.flush();
    const [head] = await this.db.select({ seq: auditHead.seq, hash: auditHead.hash }).from(auditHead).where(eq(auditHead.id, 1));
    const installed = await activeCommittee(this.db);
    return { ...committeeDto(installed!), audit: { seq: head!.seq, hash: head!.hash } };
  }
}
