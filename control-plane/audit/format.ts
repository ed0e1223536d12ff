import canonicalize from 'canonicalize';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * The audit entry format, shared by the server, the offline verifier and the
 * browser. Pure JS on purpose (no node:crypto) so every verifier computes the
 * same bytes.
 *
 * hash      = hex SHA-256 of the RFC 8785 canonical JSON of the chained body
 *             { seq, at, actor, action, subject, payloadDigest, prevHash }
 * signature = base64url Ed25519 signature over the 32 raw bytes of `hash`
 */
export interface AuditBody {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  payloadDigest: string;
  prevHash: string;
}

export interface AuditEntry extends AuditBody {
  payload: unknown;
  hash: string;
  kid: string;
  signature: string;
}

/** prev_hash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** RFC 8785 canonical JSON; throws on values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new TypeError('value has no canonical JSON form');
  return out;
}

export function sha256Hex(text: string | Uint8Array): string {
  return bytesToHex(sha256(typeof text === 'string' ? utf8ToBytes(text) : text));
}

export function digestPayload(payload: unknown): string {
  return sha256Hex(canonicalJson(payload));
}

export function bodyOf(entry: AuditBody): AuditBody {
  const { seq, at, actor, action, subject, payloadDigest, prevHash } = entry;
  return { seq, at, actor, action, subject, payloadDigest, prevHash };
}

export function hashBody(body: AuditBody): string {
  return sha256Hex(canonicalJson(bodyOf(body)));
}

/** The bytes a signer signs and a verifier checks: the raw 32-byte hash. */
export function signingInput(hash: string): Uint8Array {
  return hexToBytes(hash);
}

export function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('not base64url');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // One byte string, one text: unused trailing bits must be zero.
  if (toBase64Url(out) !== text) throw new TypeError('not canonical base64url');
  return out;
}
