import { eq } from 'drizzle-orm';
import { ed25519 } from '@noble/curves/ed25519.js';
import { AlreadyExistsError, BadRequestError, NotFoundError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { dataSources, type DataSourceRow } from '../../db/schema';
import { jwkVerifier } from '../adapters/ed25519-signer';
import type { AuditLog } from '../audit/audit-store';
import { fromBase64Url } from '../audit/format';
import { pgErrorCode, UNIQUE_VIOLATION } from '../db-errors';
import type { Ed25519PublicJwk } from '../ports/signer';
import { actorOf, type Principal } from '../../actors/principal';

export interface SourceInput {
  id: string;
  publicKeyJwk?: Ed25519PublicJwk | null;
  tenantIds: string[];
  requireSignature: boolean;
}

export interface DataSource {
  id: string;
  tenantIds: string[];
  requireSignature: boolean;
  /** Checks an Ed25519 signature with the source's key; null when it has none. */
  verify: ((message: Uint8Array, signature: Uint8Array) => boolean) | null;
}

/** Refuses keys that are not curve points, or are of small order (anyone could forge for them). */
function assertUsableKey(jwk: Ed25519PublicJwk): void {
  let point: ReturnType<typeof ed25519.Point.fromBytes>;
  try {
    point = ed25519.Point.fromBytes(fromBase64Url(jwk.x));
    jwkVerifier(jwk);
  } catch (err) {
    throw new BadRequestError(`publicKeyJwk is not a usable Ed25519 public key: ${(err as Error).message}`);
  }
  if (point.isSmallOrder()) throw new BadRequestError('publicKeyJwk is a small-order point: signatures by it prove nothing');
}

/** Registered data sources (who may post learning events for which tenants). */
export class SourceRegistry {
  readonly #cache = new Map<string, DataSource>();

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  async register(input: SourceInput, by: Principal): Promise<Omit<DataSourceRow, 'createdAt'> & { createdAt: string }> {
    if (input.requireSignature && !input.publicKeyJwk) throw new BadRequestError('a source that must sign needs a publicKeyJwk');
    if (input.publicKeyJwk) assertUsableKey(input.publicKeyJwk);
    try {
      const row = await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        const [created] = await tx
          .insert(dataSources)
          .values({ id: input.id, publicKeyJwk: input.publicKeyJwk ?? null, tenantIds: input.tenantIds, requireSignature: input.requireSignature })
          .returning();
        await this.audit.append(tx, {
          actor: actorOf(by),
          action: 'source.registered',
          subject: `source:${input.id}`,
          payload: { id: input.id, tenantIds: input.tenantIds, requireSignature: input.requireSignature, publicKeyJwk: input.publicKeyJwk ?? null },
        });
        return created!;
      });
      return { ...row, createdAt: row.createdAt.toISOString() };
    } catch (err) {
      if (pgErrorCode(err) === UNIQUE_VIOLATION) throw new AlreadyExistsError(`data source ${input.id} already exists`);
      throw err;
    }
  }

  /** The source, cached after the first lookup (sources are immutable once registered). */
  async get(id: string): Promise<DataSource> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const [row] = await this.db.select().from(dataSources).where(eq(dataSources.id, id)).limit(1);
    if (!row) throw new NotFoundError(`no data source ${id}`);
    const source: DataSource = {
      id: row.id,
      tenantIds: row.tenantIds,
      requireSignature: row.requireSignature,
      verify: row.publicKeyJwk ? jwkVerifier(row.publicKeyJwk as Ed25519PublicJwk) : null,
    };
    this.#cache.set(id, source);
    return source;
  }
}
