import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { fromBase64Url, toBase64Url, type AuditEntry } from '../audit/format';
import { verifyChain, type KnownHead, type SignatureCheck, type VerifyReport } from '../audit/verify';

/**
 * Offline verification of an exported audit log. Pure JS on purpose
 * (@noble/curves, @noble/hashes): the verifier must not share code paths
 * with the server's node:crypto signer, and must run anywhere.
 */

/** Raw 32-byte Ed25519 public keys by kid (RFC 7638 thumbprint). */
export type PublicKeys = Map<string, Uint8Array>;

/** A key document that cannot be used; the CLI reports it as a usage error. */
export class KeyParseError extends Error {
  override readonly name = 'KeyParseError';
}

/** RFC 7638 thumbprint of an Ed25519 public JWK, from its `x` member. */
export function ed25519Thumbprint(x: string): string {
  // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical = `{"crv":"Ed25519","kty":"OKP","x":${JSON.stringify(x)}}`;
  return toBase64Url(sha256(utf8ToBytes(canonical)));
}

/**
 * Reads public keys from any of:
 * - the JSON of `GET /api/v1/keys`: `{ keys: [{ kid, alg: "EdDSA", publicKeyJwk }] }`
 * - a JWK Set `{ keys: [jwk, …] }` or a JSON array of either item form
 * - a single Ed25519 public JWK `{ kty: "OKP", crv: "Ed25519", x }`
 * - a raw base64url 32-byte public key
 * The kid is always recomputed as the RFC 7638 thumbprint; a declared kid
 * that differs is refused rather than trusted.
 */
export function parsePublicKeys(text: string): PublicKeys {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') throw new KeyParseError('empty key text');
  const keys: PublicKeys = new Map();

  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
    const raw = decodeKeyBytes(trimmed, 'raw key');
    keys.set(ed25519Thumbprint(toBase64Url(raw)), raw);
    return keys;
  }

  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (err) {
    throw new KeyParseError(`not valid JSON: ${(err as Error).message}`);
  }

  let items: unknown[];
  let single = false;
  if (Array.isArray(doc)) items = doc;
  else if (isObject(doc) && Array.isArray(doc.keys)) items = doc.keys;
  else if (isObject(doc) && 'kty' in doc) {
    items = [doc];
    single = true;
  } else throw new KeyParseError('expected {"keys":[…]}, a JWK, or a base64url public key');

  if (items.length === 0) throw new KeyParseError('the key list is empty');
  items.forEach((item, i) => {
    const where = single ? 'JWK' : `keys[${i}]`;
    if (!isObject(item)) throw new KeyParseError(`${where}: not an object`);
    let jwk: unknown = item;
    let declaredKid: unknown = item.kid;
    if ('publicKeyJwk' in item) {
      if (item.alg !== undefined && item.alg !== 'EdDSA') throw new KeyParseError(`${where}: alg ${String(item.alg)} is not EdDSA`);
      jwk = item.publicKeyJwk;
      if (declaredKid === undefined && isObject(jwk)) declaredKid = jwk.kid;
    }
    const { kid, key } = readJwk(jwk, where);
    if (declaredKid !== undefined && declaredKid !== kid) {
      throw new KeyParseError(`${where}: kid ${JSON.stringify(declaredKid)} is not the RFC 7638 thumbprint of its key (${kid})`);
    }
    keys.set(kid, key);
  });
  return keys;
}

function readJwk(jwk: unknown, where: string): { kid: string; key: Uint8Array } {
  if (!isObject(jwk)) throw new KeyParseError(`${where}: the JWK is not an object`);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') throw new KeyParseError(`${where}: not an Ed25519 key (kty OKP, crv Ed25519)`);
  if ('d' in jwk) throw new KeyParseError(`${where}: this is a private key ("d" is present); give the public key only`);
  if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') throw new KeyParseError(`${where}: alg ${String(jwk.alg)} is not EdDSA`);
  if (typeof jwk.x !== 'string') throw new KeyParseError(`${where}: x is missing`);
  const key = decodeKeyBytes(jwk.x, `${where}: x`);
  return { kid: ed25519Thumbprint(jwk.x), key };
}

function decodeKeyBytes(text: string, where: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    throw new KeyParseError(`${where}: not base64url`);
  }
  if (bytes.length !== 32) throw new KeyParseError(`${where}: an Ed25519 public key is 32 bytes, got ${bytes.length}`);
  // Only the canonical spelling: the thumbprint is computed over the text.
  if (toBase64Url(bytes) !== text) throw new KeyParseError(`${where}: not canonical base64url`);
  if (!ed25519.utils.isValidPublicKey(bytes, false)) throw new KeyParseError(`${where}: not a valid Ed25519 point`);
  return bytes;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface MalformedLine {
  /** 0-based entry index (blank lines are not counted). */
  index: number;
  /** 1-based line number in the file. */
  line: number;
  reason: string;
}

export interface ParsedExport {
  /** Entries before the first malformed line (all of them when none is). */
  entries: AuditEntry[];
  /** Number of non-blank lines. */
  count: number;
  /** The first line that is not valid JSON, if any. */
  malformed?: MalformedLine;
}

/**
 * Splits a JSON Lines export. Blank lines are ignored; a line that is not
 * JSON is reported, never thrown. Lines that are JSON but not entries are
 * kept: `verifyChain` reports them as malformed entries.
 */
export function parseExport(text: string): ParsedExport {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const entries: AuditEntry[] = [];
  let malformed: MalformedLine | undefined;
  let count = 0;
  lines.forEach((raw, lineIndex) => {
    if (raw.trim() === '') return;
    const index = count++;
    if (malformed) return;
    try {
      entries.push(JSON.parse(raw) as AuditEntry);
    } catch (err) {
      malformed = { index, line: lineIndex + 1, reason: `malformed line: line ${lineIndex + 1}: ${(err as Error).message}` };
    }
  });
  return malformed ? { entries, count, malformed } : { entries, count };
}

/** Signature check over @noble/curves, strict RFC 8032 (no ZIP-215 leniency). */
export function nobleCheck(keys: PublicKeys): SignatureCheck {
  return (kid, message, signature) => {
    const key = keys.get(kid);
    if (!key) return 'unknown-key';
    if (signature.length !== 64) return false;
    try {
      return ed25519.verify(signature, message, key, { zip215: false });
    } catch {
      return false;
    }
  };
}

/** Verifies a JSON Lines export against the given public keys. */
export function verifyExport(text: string, keys: PublicKeys, knownHead?: KnownHead): VerifyReport {
  const parsed = parseExport(text);
  const check = nobleCheck(keys);
  if (!parsed.malformed) return verifyChain(parsed.entries, check, knownHead);
  // Anything wrong before the malformed line is the first problem.
  const prefix = verifyChain(parsed.entries, check);
  if (!prefix.ok) return { ...prefix, length: parsed.count };
  return {
    ok: false,
    length: parsed.count,
    head: prefix.head,
    firstBadIndex: parsed.malformed.index,
    reason: parsed.malformed.reason,
  };
}
