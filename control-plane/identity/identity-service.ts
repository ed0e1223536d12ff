import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { apiTokens, users } from '../../db/schema';
import type { Role } from '../../db/schema/enums';
import { AlreadyExistsError, NotFoundError } from '../../actors/errors';
import type { AuditLog } from '../audit/audit-store';
import { pgErrorCode, UNIQUE_VIOLATION } from '../db-errors';
import type { Clock } from '../ports/clock';
import { actorOf, type Principal } from '../../actors/principal';

const TOKEN_CACHE_MS = 5_000;
/** Operator tokens expire; 90 days unless the creator says otherwise. */
export const DEFAULT_TOKEN_TTL_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Operators and their bearer tokens. Tokens are random, shown once, stored
 * as SHA-256 digests. Lookups are cached for a few seconds; a revocation on
 * this node takes effect at once, on other nodes within TOKEN_CACHE_MS.
 */
export class IdentityService {
  readonly #cache = new Map<string, { principal: Principal | null; until: number; expiresAt: number }>();
  readonly #bootstrapDigest: Buffer | null;
  readonly #revokeListeners = new Set<(revoked: { name: string; tokenId: string }) => void>();

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    bootstrapAdminToken?: string,
  ) {
    this.#bootstrapDigest = bootstrapAdminToken ? Buffer.from(digest(bootstrapAdminToken), 'hex') : null;
  }

  /** The principal a bearer token stands for, or null. */
  async authenticate(token: string): Promise<Principal | null> {
    const hash = digest(token);
    if (this.#bootstrapDigest && timingSafeEqual(Buffer.from(hash, 'hex'), this.#bootstrapDigest)) {
      return { kind: 'user', name: 'bootstrap', role: 'ADMIN', tokenId: 'bootstrap' };
    }
    const now = Date.now();
    const cached = this.#cache.get(hash);
    if (cached && cached.until > now && (!cached.principal || cached.expiresAt > this.clock.now().getTime())) return cached.principal;
    const [row] = await this.db
      .select({ id: apiTokens.id, name: users.name, role: users.role, expiresAt: apiTokens.expiresAt })
      .from(apiTokens)
      .innerJoin(users, eq(users.name, apiTokens.userName))
      .where(and(eq(apiTokens.tokenHash, hash), isNull(apiTokens.revokedAt)))
      .limit(1);
    const principal: Principal | null = row ? { kind: 'user', name: row.name, role: row.role, tokenId: row.id } : null;
    if (this.#cache.size > 10_000) this.#cache.clear();
    // An expiring token is cached no longer than it lives (the clock may be injected).
    const expiresAt = row?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    if (expiresAt <= this.clock.now().getTime()) return null;
    this.#cache.set(hash, { principal, until: now + TOKEN_CACHE_MS, expiresAt });
    return principal;
  }

  /** Creates an operator and returns its first token (shown once). */
  async createUser(
    name: string,
    role: Role,
    by: Principal,
    expiresInDays: number | null = DEFAULT_TOKEN_TTL_DAYS,
  ): Promise<{ name: string; role: Role; tokenId: string; token: string; expiresAt: string | null }> {
    const token = `tg_${randomBytes(32).toString('base64url')}`;
    const tokenId = randomBytes(6).toString('hex');
    const now = this.clock.now();
    const expiresAt = expiresInDays === null ? null : new Date(now.getTime() + expiresInDays * DAY_MS);
    try {
      await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        await tx.insert(users).values({ name, role, createdAt: now });
        await tx.insert(apiTokens).values({ id: tokenId, userName: name, tokenHash: digest(token), createdAt: now, expiresAt });
        await this.audit.append(tx, { actor: actorOf(by), action: 'user.created', subject: `user:${name}`, payload: { name, role, tokenId, expiresAt: expiresAt?.toISOString() ?? null } });
      });
    } catch (err) {
      if (pgErrorCode(err) === UNIQUE_VIOLATION) throw new AlreadyExistsError(`user ${name} already exists`);
      throw err;
    }
    return { name, role, tokenId, token, expiresAt: expiresAt?.toISOString() ?? null };
  }

  async listUsers(): Promise<Array<{ name: string; role: Role; createdAt: string; tokens: Array<{ id: string; createdAt: string; revokedAt: string | null; expiresAt: string | null }> }>> {
    const rows = await this.db.select().from(users).orderBy(asc(users.name));
    const tokens = await this.db.select().from(apiTokens).orderBy(asc(apiTokens.createdAt));
    return rows.map((u) => ({
      name: u.name,
      role: u.role,
      createdAt: u.createdAt.toISOString(),
      tokens: tokens
        .filter((t) => t.userName === u.name)
        .map((t) => ({ id: t.id, createdAt: t.createdAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null, expiresAt: t.expiresAt?.toISOString() ?? null })),
    }));
  }

  async revokeToken(name: string, tokenId: string, by: Principal): Promise<void> {
    const now = this.clock.now();
    const revoked = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const rows = await tx
        .update(apiTokens)
        .set({ revokedAt: now })
        .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userName, name), isNull(apiTokens.revokedAt)))
        .returning({ hash: apiTokens.tokenHash });
      if (rows.length === 0) return null;
      await this.audit.append(tx, { actor: actorOf(by), action: 'user.token.revoked', subject: `user:${name}`, payload: { name, tokenId } });
      return rows[0]!.hash;
    });
    if (!revoked) throw new NotFoundError(`user ${name} has no active token ${tokenId}`);
    this.#cache.delete(revoked);
    for (const listener of this.#revokeListeners) {
      try {
        listener({ name, tokenId });
      } catch {
        // a listener never undoes a committed revocation
      }
    }
  }

  /** Told after each revocation on this node (the live console disconnects its sessions at once). Returns the unsubscribe. */
  onRevoked(listener: (revoked: { name: string; tokenId: string }) => void): () => void {
    this.#revokeListeners.add(listener);
    return () => this.#revokeListeners.delete(listener);
  }

  /**
   * On a fresh database, creates the ADMIN `admin` and returns its token so
   * that the first start can print it. Returns null when users exist.
   */
  async ensureFirstAdmin(): Promise<string | null> {
    const [{ count } = { count: 0 }] = await this.db.select({ count: sql<number>`count(*)::int` }).from(users);
    if (count > 0) return null;
    try {
      // The first admin's token does not expire: it is how the operator gets in at all.
      const { token } = await this.createUser('admin', 'ADMIN', { kind: 'system', name: 'first-start', role: 'ADMIN' }, null);
      return token;
    } catch (err) {
      if (err instanceof AlreadyExistsError) return null; // another node won the race
      throw err;
    }
  }
}
