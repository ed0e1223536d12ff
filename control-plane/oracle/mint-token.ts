import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { PARTNER_TOKEN_TYP } from './partner-token';

export interface MintOptions {
  partnerId: string;
  audience: string;
  privateKey: KeyObject;
  /** Seconds since the epoch; default now. */
  now?: number;
  ttlSeconds?: number;
  jti?: string;
  /** Overrides or extra members of the header / claims (tests build hostile tokens with these). */
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Mints a partner JWT (compact JWS) with node:crypto: for `tollgate token`, tests and benchmarks. */
export function mintPartnerToken(o: MintOptions): string {
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const ed = o.privateKey.asymmetricKeyType === 'ed25519';
  const header = { alg: ed ? 'EdDSA' : 'ES256', typ: PARTNER_TOKEN_TYP, kid: o.partnerId, ...o.header };
  const claims = { iss: o.partnerId, aud: o.audience, iat: now, exp: now + (o.ttlSeconds ?? 60), jti: o.jti ?? randomUUID(), ...o.claims };
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = ed ? sign(null, Buffer.from(input), o.privateKey) : sign('sha256', Buffer.from(input), { key: o.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
