import { verify as verifySignature } from 'node:crypto';
import { PartnerTokenError, type PartnerRefusal } from '../../actors/errors';
import type { Clock } from '../ports/clock';
import type { Partner } from './partners';

export const PARTNER_TOKEN_TYP = 'oracle+jwt';
export const ALLOWED_ALGS: ReadonlySet<string> = new Set(['EdDSA', 'ES256']);
/** Clock skew tolerated on exp / nbf / iat (the contract allows at most 300 s). */
export const MAX_SKEW_SECONDS = 300;
/** A token may live at most this long (bounds the replay cache too). */
export const MAX_TOKEN_LIFETIME_SECONDS = 3_600;
export const MAX_TOKEN_LENGTH = 4_096;
const MAX_HEADER_LENGTH = 1_024;
const MAX_KID_LENGTH = 64;
const MAX_JTI_LENGTH = 128;
// Compact JWS only: three base64url parts. Anything else (JSON serialization,
// spaces, padding, quotes) is refused before a byte of it is decoded.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Header parameters that would make us fetch or trust keys named by the token, or obey unknown extensions. */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'] as const;

export interface VerifiedToken {
  partner: Partner;
  jti: string;
  /** exp claim, seconds since the epoch. */
  exp: number;
}

export interface PartnerTokenOptions {
  audience: string;
  clock: Clock;
  skewSeconds?: number;
  /** Exact, in-memory partner lookup by id. */
  partner(id: string): Partner | undefined;
}

const refuse = (code: PartnerRefusal, message: string, partnerId: string | null = null): never => {
  throw new PartnerTokenError(code, message, partnerId);
};

/** Reads the JOSE header without trusting anything in it yet. */
function readHeader(encoded: string): Record<string, unknown> {
  if (encoded.length > MAX_HEADER_LENGTH) refuse('JWT_MALFORMED', 'the token header is too long');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    refuse('JWT_MALFORMED', 'the token header is not base64url JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) refuse('JWT_MALFORMED', 'the token header is not a JSON object');
  return header as Record<string, unknown>;
}

/**
 * Verifies partner JWTs (the profile in API.md). Cheap structural checks
 * come first and refuse before any key is touched; node:crypto then
 * verifies the signature with the partner's key imported once, and the
 * claims are checked against the injected clock. Each failed check has its
 * own code. (Not jose: its verify costs twice node:crypto's here, and this
 * is the oracle's hot path; the tests mint tokens with jose to check that
 * both read tokens alike.)
 */
export class PartnerTokenVerifier {
  readonly #skew: number;

  constructor(private readonly options: PartnerTokenOptions) {
    if (!options.audience) throw new TypeError('PartnerTokenVerifier needs an audience');
    this.#skew = options.skewSeconds ?? MAX_SKEW_SECONDS;
    if (!(this.#skew >= 0 && this.#skew <= MAX_SKEW_SECONDS)) throw new TypeError(`skew must be within 0..${MAX_SKEW_SECONDS} s`);
  }

  get skewSeconds(): number {
    return this.#skew;
  }

  async verify(token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH) refuse('JWT_MALFORMED', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
    if (!COMPACT_JWS.test(token)) refuse('JWT_MALFORMED', 'the token must be a compact JWS: three base64url parts joined by dots');
    const header = readHeader(token.slice(0, token.indexOf('.')));
    const alg = header.alg;
    if (typeof alg !== 'string' || !ALLOWED_ALGS.has(alg)) refuse('JWT_ALG_NOT_ALLOWED', 'alg must be EdDSA or ES256');
    for (const name of FORBIDDEN_HEADERS) if (Object.hasOwn(header, name)) refuse('JWT_FORBIDDEN_HEADER', `the "${name}" header is not accepted`);
    if (header.typ !== PARTNER_TOKEN_TYP) refuse('JWT_BAD_TYP', `typ must be "${PARTNER_TOKEN_TYP}"`);
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) refuse('JWT_UNKNOWN_KID', 'kid must name a registered partner');
    const partner = this.options.partner(kid as string);
    if (!partner) return refuse('JWT_UNKNOWN_KID', 'kid does not name a registered partner');
    if (partner.alg !== alg) refuse('JWT_KID_ALG_MISMATCH', `partner ${partner.id} signs with ${partner.alg}, not ${alg as string}`, partner.id);

    // The signature, straight on node:crypto with the key imported once (jose v6
    // goes through WebCrypto: about 2× the CPU per token here, on the hot path).
    const [h, p, sig] = token.split('.') as [string, string, string];
    const signature = Buffer.from(sig, 'base64url');
    const ok =
      signature.length === 64 &&
      verifySignature(partner.alg === 'EdDSA' ? null : 'sha256', Buffer.from(`${h}.${p}`), partner.alg === 'EdDSA' ? partner.key : { key: partner.key, dsaEncoding: 'ieee-p1363' }, signature);
    if (!ok) refuse('JWT_BAD_SIGNATURE', 'the signature does not verify with the partner key', partner.id);
    const payload = readClaims(p, partner.id);
    checkClaims(payload, { issuer: partner.id, audience: this.options.audience, allowed: partner.audiences, now: this.options.clock.now().getTime() / 1000, skew: this.#skew }, partner.id);
    const { jti, exp, iat } = payload;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) refuse('JWT_MISSING_CLAIM', `jti must be a string of 1..${MAX_JTI_LENGTH} characters`, partner.id);
    if (typeof exp !== 'number' || typeof iat !== 'number') return refuse('JWT_MISSING_CLAIM', 'exp and iat must be numbers', partner.id);
    if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) refuse('JWT_LIFETIME_TOO_LONG', `a token may live at most ${MAX_TOKEN_LIFETIME_SECONDS} s`, partner.id);
    return { partner, jti: jti as string, exp };
  }
}

function readClaims(encoded: string, partnerId: string): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return refuse('JWT_MALFORMED', 'the token payload is not a JSON claims object', partnerId);
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) refuse('JWT_MALFORMED', 'the token payload is not a JSON claims object', partnerId);
  return claims as Record<string, unknown>;
}

/**
 * The registered claims (RFC 7519 §4.1) as API.md profiles them: iss, aud,
 * exp, iat and jti required; exp, nbf and iat checked against the clock with
 * the skew; a token older than its maximum lifetime is expired.
 */
function checkClaims(c: Record<string, unknown>, o: { issuer: string; audience: string; allowed: ReadonlySet<string> | null; now: number; skew: number }, partnerId: string): void {
  const no = (code: PartnerRefusal, message: string) => refuse(code, message, partnerId);
  for (const claim of ['iss', 'aud', 'exp', 'iat', 'jti']) if (c[claim] === undefined) no('JWT_MISSING_CLAIM', `the "${claim}" claim is required`);
  for (const claim of ['exp', 'iat', 'nbf']) if (c[claim] !== undefined && (typeof c[claim] !== 'number' || !Number.isFinite(c[claim]))) no('JWT_MALFORMED', `the "${claim}" claim must be a number`);
  if (c.iss !== o.issuer) no('JWT_BAD_ISSUER', 'iss must be the partner id named by kid');
  const aud = c.aud;
  if (!(aud === o.audience || (Array.isArray(aud) && aud.includes(o.audience)))) no('JWT_BAD_AUDIENCE', 'aud does not name this oracle');
  // A partner registered with allowed audiences: this oracle must be one of them, and so must every aud it names.
  if (o.allowed) {
    if (!o.allowed.has(o.audience)) no('JWT_BAD_AUDIENCE', `partner ${partnerId} is not allowed to call this oracle (audience ${o.audience})`);
    if (Array.isArray(aud) && aud.some((a) => typeof a !== 'string' || !o.allowed!.has(a))) no('JWT_BAD_AUDIENCE', 'aud names an audience this partner is not allowed');
  }
  const exp = c.exp as number;
  const iat = c.iat as number;
  if (exp <= o.now - o.skew) no('JWT_EXPIRED', 'the token has expired');
  if (c.nbf !== undefined && (c.nbf as number) > o.now + o.skew) no('JWT_NOT_YET_VALID', 'the token is not valid yet (nbf)');
  if (iat > o.now + o.skew) no('JWT_ISSUED_IN_FUTURE', 'iat is in the future beyond the allowed skew');
  if (o.now - iat - o.skew > MAX_TOKEN_LIFETIME_SECONDS) no('JWT_EXPIRED', `the token was issued more than ${MAX_TOKEN_LIFETIME_SECONDS} s ago`);
}
