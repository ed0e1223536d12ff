import { createCipheriv, createDecipheriv, createPublicKey, randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson, fromBase64Url, toBase64Url } from '../audit/format';

/**
 * The committee's cryptography, shared by the server and the CLI.
 *
 * Identity: each member holds one Ed25519 key pair (32-byte seed, raw
 * 32-byte public key, both base64url).
 *
 * Share sealing (why this construction): a share must reach exactly one
 * member, be readable only with that member's identity key, and be
 * tamper-evident. We use an ECIES "sealed box": a fresh ephemeral X25519
 * key per share, Diffie-Hellman with the member's X25519 key *derived from
 * their Ed25519 key* (the birational map, `ed25519.utils.toMontgomery` /
 * `toMontgomerySecret`, as libsodium's crypto_sign_ed25519_pk_to_curve25519),
 * HKDF-SHA256 over the shared secret bound to both public keys and to the
 * share's identity (committee, member, index), and ChaCha20-Poly1305 with that
 * identity as associated data. Deriving the X25519 key means members keep one
 * key file, not two, and the ceremony needs only the public keys they already
 * publish; reusing one key pair for EdDSA and X25519 this way has a security
 * proof (Thormarker, "On using the same key pair for Ed25519 and an X25519
 * based KEM", 2021). The ephemeral key gives each sealed share its own AEAD key,
 * so the random 96-bit nonce never repeats under a key.
 *
 * Commitment: sha256 over a domain tag, the committee's random salt, the
 * member id and share index, and the share bytes. Binding the member and index
 * means a valid share cannot be presented as another member's (swapped), and
 * the salt keeps commitments of one committee useless against another.
 */

export const SHARE_FILE_VERSION = 1;
const SEAL_INFO = 'tollgate/governance/share-seal/v1';
const COMMITMENT_TAG = 'tollgate/governance/share-commitment/v1';
export const SHARE_BINDING_TYPE = 'tollgate.governance.share-submission.v1';
export const ACTION_SIGNATURE_TYPE = 'tollgate.governance.action.v1';
export const CEREMONY_TYPE = 'tollgate.governance.committee.v1';

/** Where a share belongs: sealed into the AEAD's associated data. */
export interface ShareLabel {
  committeeId: string;
  memberId: string;
  index: number;
}

/** The JSON file one member receives after the ceremony. */
export interface SealedShareFile extends ShareLabel {
  v: typeof SHARE_FILE_VERSION;
  /** The member's Ed25519 public key the share is sealed to (base64url). */
  recipient: string;
  ephemeralPublicKey: string;
  nonce: string;
  ciphertext: string;
  commitment: string;
}

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A new Ed25519 identity key pair. */
export function generateIdentity(): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** The Ed25519 public key of a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

/** A base64url raw Ed25519 public key, checked to be a valid curve point. */
export function parsePublicKey(text: string): Uint8Array {
  const bytes = fromBase64Url(text);
  if (bytes.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  ed25519.Point.fromBytes(bytes); // throws when not on the curve
  return bytes;
}

function labelBytes(label: ShareLabel): Uint8Array {
  return utf8ToBytes(canonicalJson({ committeeId: label.committeeId, memberId: label.memberId, index: label.index }));
}

function sealKey(shared: Uint8Array, ephemeralPub: Uint8Array, recipientX: Uint8Array, label: ShareLabel): Uint8Array {
  return hkdf(sha256, shared, concatBytes(ephemeralPub, recipientX), concatBytes(utf8ToBytes(SEAL_INFO), labelBytes(label)), 32);
}

/** Seals `share` to a member's Ed25519 public key (see the module comment). */
export function sealShare(share: Uint8Array, recipientEd25519: Uint8Array, label: ShareLabel, commitment: string): SealedShareFile {
  const recipientX = ed25519.utils.toMontgomery(recipientEd25519);
  const ephemeralSecret = x25519.utils.randomSecretKey();
  const ephemeralPub = x25519.getPublicKey(ephemeralSecret);
  const shared = x25519.getSharedSecret(ephemeralSecret, recipientX);
  const key = sealKey(shared, ephemeralPub, recipientX, label);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  cipher.setAAD(labelBytes(label), { plaintextLength: share.length });
  const ciphertext = Buffer.concat([cipher.update(share), cipher.final(), cipher.getAuthTag()]);
  ephemeralSecret.fill(0);
  shared.fill(0);
  key.fill(0);
  return {
    v: SHARE_FILE_VERSION,
    ...label,
    recipient: toBase64Url(recipientEd25519),
    ephemeralPublicKey: toBase64Url(ephemeralPub),
    nonce: toBase64Url(nonce),
    ciphertext: toBase64Url(ciphertext),
    commitment,
  };
}

export class ShareDecryptionError extends Error {
  override readonly name = 'ShareDecryptionError';
}

/** Opens a sealed share with the member's Ed25519 secret key; throws on any tampering. */
export function openShare(file: SealedShareFile, secretKey: Uint8Array): Uint8Array {
  const publicKey = ed25519.getPublicKey(secretKey);
  if (toBase64Url(publicKey) !== file.recipient) throw new ShareDecryptionError(`this share is sealed to another key (member ${file.memberId})`);
  const secretX = ed25519.utils.toMontgomerySecret(secretKey);
  const recipientX = ed25519.utils.toMontgomery(publicKey);
  const ephemeralPub = fromBase64Url(file.ephemeralPublicKey);
  const shared = x25519.getSharedSecret(secretX, ephemeralPub);
  const label: ShareLabel = { committeeId: file.committeeId, memberId: file.memberId, index: file.index };
  const key = sealKey(shared, ephemeralPub, recipientX, label);
  const sealed = fromBase64Url(file.ciphertext);
  if (sealed.length < 17) throw new ShareDecryptionError('sealed share too short');
  try {
    const decipher = createDecipheriv('chacha20-poly1305', key, fromBase64Url(file.nonce), { authTagLength: 16 });
    decipher.setAAD(labelBytes(label), { plaintextLength: sealed.length - 16 });
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const out = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new ShareDecryptionError('the sealed share does not open with this key (tampered, or not yours)', { cause: err });
  } finally {
    secretX.fill(0);
    shared.fill(0);
    key.fill(0);
  }
}

/** sha256 commitment to one member's share (see the module comment). */
export function shareCommitment(salt: string, memberId: string, index: number, share: Uint8Array): string {
  const head = utf8ToBytes(canonicalJson({ tag: COMMITMENT_TAG, salt, memberId, index }));
  return bytesToHex(sha256(concatBytes(head, new Uint8Array([0]), share)));
}

/** The digest of a share that members sign over (never the share itself in logs). */
export function shareDigest(share: Uint8Array): string {
  return bytesToHex(sha256(share));
}

/** Hex sha256 of the canonical {action, params}: what an unlock is for. */
export function actionHash(action: string, params: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalJson({ action, params }))));
}

/** The bytes a member signs to submit a share to one request. */
export function shareBinding(b: { requestId: string; actionHash: string; nonce: string; shareDigest: string }): Uint8Array {
  return utf8ToBytes(canonicalJson({ type: SHARE_BINDING_TYPE, requestId: b.requestId, actionHash: b.actionHash, nonce: b.nonce, shareDigest: b.shareDigest }));
}

/** The bytes the governance key signs when an unlock completes. */
export function actionSigningInput(a: { action: string; params: unknown; actionHash: string; nonce: string }): Uint8Array {
  return utf8ToBytes(canonicalJson({ type: ACTION_SIGNATURE_TYPE, action: a.action, params: a.params, actionHash: a.actionHash, nonce: a.nonce }));
}

/** Ed25519 signature, base64url. */
export function sign(message: Uint8Array, secretKey: Uint8Array): string {
  return toBase64Url(ed25519.sign(message, secretKey));
}

const keyObjects = new Map<string, KeyObject>();

/** node:crypto's key object for a raw Ed25519 public key (cached: committees are small; OpenSSL checks the point). */
function keyObject(publicKey: Uint8Array | string): KeyObject {
  const x = typeof publicKey === 'string' ? publicKey : toBase64Url(publicKey);
  let key = keyObjects.get(x);
  if (!key) {
    if (keyObjects.size > 1_000) keyObjects.clear();
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    keyObjects.set(x, key);
  }
  return key;
}

/**
 * Ed25519 verify that never throws on malformed input. OpenSSL's (native,
 * RFC 8032) rather than @noble's: the server runs one per share submission
 * and one per gated action, and native is several times faster. A string
 * key is base64url (the stored form), so the hot path decodes nothing.
 */
export function verify(signature: string, message: Uint8Array, publicKey: Uint8Array | string): boolean {
  try {
    const sig = fromBase64Url(signature);
    if (sig.length !== 64) return false;
    return nodeVerify(null, message, keyObject(publicKey), sig);
  } catch {
    return false;
  }
}

export { toBase64Url, fromBase64Url };
