import { createPublicKey, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { asc } from 'drizzle-orm';
import { AlreadyExistsError, BadRequestError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { oraclePartners, type OraclePartnerRow, type PartnerAlg } from '../../db/schema';
import type { AuditLog } from '../audit/audit-store';
import { fromBase64Url } from '../audit/format';
import { pgErrorCode, UNIQUE_VIOLATION } from '../db-errors';

export const DEFAULT_PARTNER_RATE_LIMIT = 1_000;

export type PartnerJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string } | { kty: 'EC'; crv: 'P-256'; x: string; y: string };

export interface PartnerInput {
  id: string;
  publicKeyJwk: PartnerJwk;
  internal?: boolean | undefined;
  rateLimitPerSecond?: number | undefined;
  /** The `aud` values its tokens may carry; absent = this oracle's audience only. */
  audiences?: string[] | undefined;
}

/** A registered partner with its key imported once (node:crypto KeyObject). */
export interface Partner {
  readonly id: string;
  readonly alg: PartnerAlg;
  readonly internal: boolean;
  readonly rateLimitPerSecond: number;
  /** Null: only this oracle's configured audience. */
  readonly audiences: ReadonlySet<string> | null;
  readonly key: KeyObject;
}

export interface PartnerDto {
  id: string;
  alg: PartnerAlg;
  publicKeyJwk: PartnerJwk;
  internal: boolean;
  rateLimitPerSecond: number;
  audiences: string[] | null;
  createdAt: string;
}

/** The algorithm a key can sign with: fixed by the key, never chosen by a token. */
export function algOf(jwk: PartnerJwk): PartnerAlg {
  return jwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
}

/** Imports a partner key; refuses points off the curve and small-order Ed25519 points. */
export function importPartnerKey(jwk: PartnerJwk): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
  } catch (err) {
    throw new BadRequestError(`publicKeyJwk is not a usable public key: ${(err as Error).message}`);
  }
  if (jwk.kty === 'OKP') {
    let small: boolean;
    try {
      small = ed25519.Point.fromBytes(fromBase64Url(jwk.x)).isSmallOrder();
    } catch (err) {
      throw new BadRequestError(`publicKeyJwk is not a usable Ed25519 public key: ${(err as Error).message}`);
    }
    if (small) throw new BadRequestError('publicKeyJwk is a small-order point: signatures by it prove nothing');
  }
  return key;
}

function toDto(row: OraclePartnerRow): PartnerDto {
  return {
    id: row.id,
    alg: row.alg,
    publicKeyJwk: row.publicKeyJwk as PartnerJwk,
    internal: row.internal,
    rateLimitPerSecond: row.rateLimitPerSecond,
    audiences: row.audiences ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * Oracle partners. Every key is imported once into memory; a token's `kid`
 * selects a partner by exact Map lookup, never by a query built from it.
 * Other nodes' registrations arrive with `refresh()` (on a timer).
 */
export class PartnerRegistry {
  #byId = new Map<string, Partner>();
  #listeners: Array<() => void> = [];

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  /** The partner with exactly this id, from memory; undefined when unknown. */
  get(id: string): Partner | undefined {
    return this.#byId.get(id);
  }

  /** Every known partner (memory). */
  all(): Partner[] {
    return [...this.#byId.values()];
  }

  /** Called after the set of partners changed. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Reloads every partner from the database, keeping already imported keys. */
  async refresh(): Promise<void> {
    const rows = await this.db.select().from(oraclePartners).orderBy(asc(oraclePartners.id));
    const next = new Map<string, Partner>();
    for (const row of rows) next.set(row.id, this.#byId.get(row.id) ?? this.#partnerOf(row));
    const changed = next.size !== this.#byId.size;
    this.#byId = next;
    if (changed) this.#listeners.forEach((l) => l());
  }

  async register(input: PartnerInput, by: Principal): Promise<PartnerDto> {
    const alg = algOf(input.publicKeyJwk);
    importPartnerKey(input.publicKeyJwk);
    try {
      const row = await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        const [created] = await tx
          .insert(oraclePartners)
          .values({
            id: input.id,
            alg,
            publicKeyJwk: input.publicKeyJwk,
            internal: input.internal ?? false,
            rateLimitPerSecond: input.rateLimitPerSecond ?? DEFAULT_PARTNER_RATE_LIMIT,
            audiences: input.audiences ? [...new Set(input.audiences)] : null,
          })
          .returning();
        await this.audit.append(tx, {
          actor: actorOf(by),
          action: 'oracle.partner.registered',
          subject: `partner:${input.id}`,
          payload: { id: input.id, alg, publicKeyJwk: input.publicKeyJwk, internal: created!.internal, rateLimitPerSecond: created!.rateLimitPerSecond, audiences: created!.audiences ?? null },
        });
        return created!;
      });
      this.#byId.set(row.id, this.#partnerOf(row));
      this.#listeners.forEach((l) => l());
      return toDto(row);
    } catch (err) {
      if (pgErrorCode(err) === UNIQUE_VIOLATION) throw new AlreadyExistsError(`partner ${input.id} already exists`);
      throw err;
    }
  }

  async list(): Promise<PartnerDto[]> {
    const rows = await this.db.select().from(oraclePartners).orderBy(asc(oraclePartners.id));
    return rows.map(toDto);
  }

  #partnerOf(row: OraclePartnerRow): Partner {
    return Object.freeze({
      id: row.id,
      alg: row.alg,
      internal: row.internal,
      rateLimitPerSecond: row.rateLimitPerSecond,
      audiences: row.audiences ? new Set(row.audiences) : null,
      key: importPartnerKey(row.publicKeyJwk as PartnerJwk),
    });
  }
}
