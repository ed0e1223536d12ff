import { randomBytes, randomUUID } from 'node:crypto';
import { and, asc, desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { governanceSubmissions, governanceUnlocks, type UnlockRow, type UnlockState } from '../../db/schema';
import {
  BadRequestError,
  ForbiddenError,
  NoCommitteeError,
  NotACommitteeMemberError,
  NotFoundError,
  ShareCommitmentMismatchError,
  ShareSignatureInvalidError,
  UnlockNotOpenError,
} from '../../actors/errors';
import { assertOpenForShares, countSubmission, DEFAULT_UNLOCK_TTL_MS, isGovernanceAction, GOVERNANCE_LOCKED_ACTIONS } from '../../actors/governance/unlock';
import { roleAtLeast } from '../../actors/model-version/lifecycle';
import { actorOf, type Principal } from '../../actors/principal';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { isUuid } from '../registry/ids';
import type { RegistryService } from '../registry/registry-service';
import { activeCommittee, committeeById, membersOf } from './committee-store';
import { INIT_HINT } from './gate';
import { ShareVault } from './share-vault';
import { toDto, type UnlockDto } from './unlock-dto';

export type { UnlockDto } from './unlock-dto';
import { checkSubmission, MalformedShareError, reconstructAndSign, type SubmissionCheck } from './submission';
import { actionHash, toBase64Url } from './share-crypto';

/**
 * The unlock flow: proposals, share submissions, reconstruction at the
 * threshold, resets.
 *
 * Where shares wait: accepted shares are kept only in this process's memory
 * (the "vault") until the threshold, never in the database. Fewer than M
 * shares reveal nothing of the key, but the same member share serves every
 * request, so pending shares of two requests stored together could reach M;
 * keeping them out of the database means a dump never holds any. The
 * database keeps each submission's member, digest and signature (the audit
 * trail) tagged with the vault that holds its share: after a restart, or on
 * another node, those submissions are discarded (audited) and the members
 * sign again. A deployment with several nodes sends /governance to one node.
 * The reconstructed key lives for one signature and is zeroed (the JS engine
 * may still hold copies we cannot reach; we never turn it into a string).
 */
export class UnlockService {
  readonly #vault: ShareVault;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly registry: RegistryService,
    private readonly log?: Logger,
    /** Told of every change of a request (progress for the live console); never carries a share. */
    private readonly onChange: (unlock: UnlockDto) => void = () => undefined,
    private readonly ttlMs = DEFAULT_UNLOCK_TTL_MS,
  ) {
    this.#vault = new ShareVault(clock);
  }

  /** Reads the request and tells `onChange`; a failing listener never fails the request. */
  private async changed(id: string): Promise<UnlockDto> {
    const dto = await this.get(id);
    try {
      this.onChange(dto);
    } catch (err) {
      this.log?.warn({ err, unlockId: id }, 'could not publish governance progress');
    }
    return dto;
  }

  async propose(input: { action: string; params: Record<string, unknown>; justification: string }, by: Principal): Promise<UnlockDto> {
    await this.registry.requireRoleAudited(by, 'MANAGER', 'proposing a governance unlock', 'governance');
    if (!isGovernanceAction(input.action)) {
      throw new BadRequestError(`action must be one of the governance-locked actions: ${GOVERNANCE_LOCKED_ACTIONS.join(', ')}`);
    }
    const committee = await activeCommittee(this.db);
    if (!committee) throw new NoCommitteeError(`no governance committee exists: ${INIT_HINT}`);
    const now = this.clock.now();
    const id = randomUUID();
    const hash = actionHash(input.action, input.params);
    const nonce = toBase64Url(randomBytes(16));
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      await tx.insert(governanceUnlocks).values({
        id,
        committeeId: committee.row.id,
        action: input.action,
        params: input.params,
        actionHash: hash,
        nonce,
        justification: input.justification,
        proposedBy: by.name,
        createdAt: now,
        expiresAt,
      });
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'governance.unlock.proposed',
        subject: `unlock:${id}`,
        payload: { id, action: input.action, params: input.params, actionHash: hash, nonce, expiresAt: expiresAt.toISOString(), justification: input.justification, threshold: committee.row.threshold },
      });
    });
    return this.changed(id);
  }

  async get(id: string): Promise<UnlockDto> {
    const unlock = await this.load(this.db, id);
    const committee = await committeeById(this.db, unlock.committeeId);
    const members = await membersOf(this.db, unlock.committeeId);
    const received = await this.received(this.db, unlock);
    return toDto(unlock, committee!.threshold, received, members);
  }

  /** The most recent requests first, optionally in one state (for the console and members looking for work). */
  async list(state: UnlockState | undefined, limit: number): Promise<UnlockDto[]> {
    const rows = await this.db
      .select({ id: governanceUnlocks.id })
      .from(governanceUnlocks)
      .where(state ? eq(governanceUnlocks.state, state) : undefined)
      .orderBy(desc(governanceUnlocks.createdAt), desc(governanceUnlocks.id))
      .limit(limit);
    return Promise.all(rows.map((r) => this.get(r.id)));
  }

  /** Checks and counts one member's share; at the threshold, signs the action. */
  async submitShare(id: string, input: { memberId: string; share: string; signature: string }, via: Principal): Promise<UnlockDto> {
    const refuse = async (err: Error & { code: string }, payload: Record<string, unknown> = {}): Promise<never> => {
      this.log?.warn({ unlockId: id, memberId: input.memberId, code: err.code }, `governance share refused: ${err.message}`);
      await this.audit.append(this.db, { actor: `member:${input.memberId}`, action: 'governance.share.refused', subject: `unlock:${id}`, payload: { memberId: input.memberId, via: actorOf(via), code: err.code, reason: err.message, ...payload } });
      throw err;
    };
    const first = await this.load(this.db, id);
    const committee = await committeeById(this.db, first.committeeId);
    if (!committee?.active) return refuse(new UnlockNotOpenError(`unlock ${id} was proposed to a committee that has since been replaced`));
    const threshold = committee.threshold;
    try {
      assertOpenForShares({ id, state: first.state, expiresAt: first.expiresAt, threshold }, this.clock.now());
    } catch (err) {
      return refuse(err as Error & { code: string });
    }
    const member = (await membersOf(this.db, committee.id)).find((m) => m.memberId === input.memberId);
    if (!member) return refuse(new NotACommitteeMemberError(`${input.memberId} is not a member of the committee`));
    let checked: SubmissionCheck;
    try {
      checked = checkSubmission(input, first, member, committee.salt);
    } catch (err) {
      if (err instanceof MalformedShareError) throw new BadRequestError(err.message);
      throw err;
    }
    const { share, digest } = checked;
    if (checked.refusal === 'signature') {
      share.fill(0);
      return refuse(
        new ShareSignatureInvalidError(
          `the signature of ${member.memberId} does not verify over this request's binding (requestId, actionHash, current nonce, share digest): signed for another request, before a reset, or with another key`,
          { details: { memberId: member.memberId } },
        ),
        { shareDigest: digest },
      );
    }
    if (checked.refusal === 'commitment') {
      share.fill(0);
      return refuse(
        new ShareCommitmentMismatchError(`the share submitted by ${member.memberId} (${member.name}) does not match its commitment: refused; the holder's share is tampered or wrong`, {
          details: { memberId: member.memberId, holder: member.name },
        }),
        { shareDigest: digest, holder: member.name },
      );
    }

    let outcome: { count: number; unlocked: boolean } | undefined;
    let kept = false; // once in the vault, the vault zeroes it
    try {
      outcome = await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        const unlock = await this.load(tx, id, true);
        assertOpenForShares({ id, state: unlock.state, expiresAt: unlock.expiresAt, threshold }, this.clock.now());
        // A reset between the checks above and this lock changed the nonce the member signed.
        if (unlock.nonce !== first.nonce) throw new ShareSignatureInvalidError(`unlock ${id} was reset while ${member.memberId}'s share was checked; sign again`);
        await this.discardForeign(tx, unlock);
        const received = (await this.received(tx, unlock)).map((s) => s.memberId);
        const { count, reached } = countSubmission(received, member.memberId, threshold);
        const now = this.clock.now();
        await tx.insert(governanceSubmissions).values({ unlockId: id, memberId: member.memberId, nonce: unlock.nonce, shareDigest: digest, signature: input.signature, vault: this.#vault.id, at: now });
        await this.audit.append(tx, {
          actor: `member:${member.memberId}`,
          action: 'governance.share.accepted',
          subject: `unlock:${id}`,
          payload: { memberId: member.memberId, name: member.name, via: actorOf(via), shareDigest: digest, count, threshold },
        });
        this.#vault.put(unlock, member.memberId, share);
        kept = true;
        if (!reached) return { count, unlocked: false };
        const signature = await this.reconstructAndSign(unlock, committee.publicKey, [...received, member.memberId]);
        await tx.update(governanceUnlocks).set({ state: 'UNLOCKED', signature, unlockedAt: now }).where(eq(governanceUnlocks.id, id));
        await this.audit.append(tx, {
          actor: 'system:governance',
          action: 'governance.unlock.unlocked',
          subject: `unlock:${id}`,
          payload: { unlockId: id, action: unlock.action, actionHash: unlock.actionHash, nonce: unlock.nonce, signature, signers: [...received, member.memberId], threshold },
        });
        return { count, unlocked: true };
      });
    } catch (err) {
      if (!kept) share.fill(0);
      if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^(SHARE_|UNLOCK_)/.test(err.code)) await refuse(err as Error & { code: string });
      throw err;
    }
    if (outcome.unlocked) this.#vault.drop(first);
    this.log?.info({ unlockId: id, memberId: member.memberId, count: outcome.count, threshold, unlocked: outcome.unlocked }, outcome.unlocked ? 'governance unlock reached its threshold and is signed' : 'governance share accepted');
    return this.changed(id);
  }

  /** Discards the submissions of the current nonce and issues a new one (proposer or ADMIN). */
  async reset(id: string, by: Principal): Promise<UnlockDto> {
    const unlock = await this.load(this.db, id);
    if (unlock.proposedBy !== by.name || by.kind !== 'user') {
      if (!roleAtLeast(by.role, 'ADMIN')) {
        await this.audit.append(this.db, { actor: actorOf(by), action: 'auth.refused', subject: `unlock:${id}`, payload: { needed: 'ADMIN or the proposer', role: by.role, what: 'resetting an unlock' } });
        throw new ForbiddenError(`only the proposer (${unlock.proposedBy}) or an ADMIN resets unlock ${id}`);
      }
    }
    const discarded = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const locked = await this.load(tx, id, true);
      if (locked.state !== 'PENDING') throw new UnlockNotOpenError(`unlock ${id} is ${locked.state}; only a pending request is reset`);
      const gone = await tx
        .update(governanceSubmissions)
        .set({ discarded: true })
        .where(and(eq(governanceSubmissions.unlockId, id), eq(governanceSubmissions.nonce, locked.nonce), eq(governanceSubmissions.discarded, false)))
        .returning({ memberId: governanceSubmissions.memberId });
      const nonce = toBase64Url(randomBytes(16));
      await tx.update(governanceUnlocks).set({ nonce, resets: locked.resets + 1 }).where(eq(governanceUnlocks.id, id));
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'governance.unlock.reset',
        subject: `unlock:${id}`,
        payload: { unlockId: id, discarded: gone.map((g) => g.memberId), previousNonce: locked.nonce, nonce },
      });
      return locked;
    });
    this.#vault.drop(discarded);
    return this.changed(id);
  }

  /** Combines the vault's shares of the counted members, signs, zeroes (see reconstructAndSign). */
  private async reconstructAndSign(unlock: UnlockRow, publicKey: string, signers: string[]): Promise<string> {
    const slot = this.#vault.slot(unlock);
    const shares = signers.map((m) => slot.get(m)).filter((s): s is Uint8Array => s !== undefined);
    if (shares.length !== signers.length) throw new Error('a counted share is missing from the vault');
    return reconstructAndSign(shares, publicKey, { action: unlock.action, params: unlock.params, actionHash: unlock.actionHash, nonce: unlock.nonce });
  }

  /** Submissions whose share another process holds cannot be combined here: discard them, audited. */
  private async discardForeign(tx: Db, unlock: UnlockRow): Promise<void> {
    const foreign = (await this.received(tx, unlock)).filter((s) => s.vault !== this.#vault.id || !this.#vault.slot(unlock).has(s.memberId));
    if (foreign.length === 0) return;
    // Deleted, not flagged: the member signs again for the same nonce (the audit keeps both events).
    for (const f of foreign) {
      await tx
        .delete(governanceSubmissions)
        .where(and(eq(governanceSubmissions.unlockId, unlock.id), eq(governanceSubmissions.memberId, f.memberId), eq(governanceSubmissions.nonce, unlock.nonce)));
    }
    await this.audit.append(tx, {
      actor: 'system:governance',
      action: 'governance.share.discarded',
      subject: `unlock:${unlock.id}`,
      payload: { unlockId: unlock.id, members: foreign.map((f) => f.memberId), reason: 'the share is held by another process (restarted, or another node); the member signs again' },
    });
  }

  private async received(db: Db, unlock: UnlockRow) {
    return db
      .select()
      .from(governanceSubmissions)
      .where(and(eq(governanceSubmissions.unlockId, unlock.id), eq(governanceSubmissions.nonce, unlock.nonce), eq(governanceSubmissions.discarded, false)))
      .orderBy(asc(governanceSubmissions.at), asc(governanceSubmissions.memberId));
  }

  private async load(db: Db, id: string, forUpdate = false): Promise<UnlockRow> {
    if (!isUuid(id)) throw new NotFoundError(`no unlock ${id}`);
    const q = db.select().from(governanceUnlocks).where(eq(governanceUnlocks.id, id)).limit(1);
    const [row] = forUpdate ? await q.for('update') : await q;
    if (!row) throw new NotFoundError(`no unlock ${id}`);
    return row;
  }
}
