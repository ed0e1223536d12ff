import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson, digestPayload, fromBase64Url, hashBody, type AuditEntry } from '../audit/format';
import { leafHash, ProofError, verifyInclusion } from '../merkle/rfc6962';
import type { PublicKeys } from './audit-verify';

/**
 * Offline check of a saved oracle response: the Ed25519 signature over the
 * exact body bytes, then per snapshot the audit entry (its hash, payload
 * digest and node signature), that it is the entry that made the champion,
 * and its RFC 6962 inclusion proof against the checkpoint root. Pure JS
 * (@noble) so it shares no code path with the server's node:crypto signer.
 */
export interface OracleVerifyReport {
  ok: boolean;
  signature: { ok: boolean; kid: string | null; reason?: string };
  snapshots: Array<{ tenantId: string | null; ok: boolean; problems: string[] }>;
}

/** A saved response: the body bytes and its Tollgate-Signature header value. */
export interface SavedResponse {
  body: Uint8Array;
  signatureHeader: string | null;
}

/**
 * Reads either an HTTP response as `curl -i` saves it (status line, headers,
 * blank line, body) or a bare body (then the header comes from --signature).
 */
export function parseSavedResponse(bytes: Uint8Array, signatureOption?: string): SavedResponse {
  const head = new TextDecoder().decode(bytes.subarray(0, 5));
  if (head !== 'HTTP/') return { body: bytes, signatureHeader: signatureOption ?? null };
  // Headers end at the first CRLFCRLF (or LFLF); the body is every byte after, untouched.
  let split = -1;
  let sepLen = 0;
  for (let i = 0; i < bytes.length - 1; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      split = i;
      sepLen = 4;
      break;
    }
    if (bytes[i] === 10 && bytes[i + 1] === 10) {
      split = i;
      sepLen = 2;
      break;
    }
  }
  if (split === -1) throw new Error('the HTTP response has no blank line between headers and body');
  const headers = new TextDecoder().decode(bytes.subarray(0, split)).split(/\r?\n/);
  const sig = headers.find((h) => /^tollgate-signature:/i.test(h));
  return { body: bytes.subarray(split + sepLen), signatureHeader: signatureOption ?? (sig ? sig.slice(sig.indexOf(':') + 1).trim() : null) };
}

const SIGNATURE_HEADER = /^kid=([A-Za-z0-9_-]{1,128}), sig=([A-Za-z0-9_-]{1,200})$/;

export function verifyOracleResponse(saved: SavedResponse, keys: PublicKeys): OracleVerifyReport {
  const signature = checkSignature(saved, keys);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(saved.body));
  } catch (err) {
    return { ok: false, signature, snapshots: [{ tenantId: null, ok: false, problems: [`the body is not JSON: ${(err as Error).message}`] }] };
  }
  const list = isObject(doc) && Array.isArray(doc.snapshots) ? doc.snapshots : [doc];
  const snapshots = list.map((s) => checkSnapshot(s, keys));
  return { ok: signature.ok && snapshots.length > 0 && snapshots.every((s) => s.ok), signature, snapshots };
}

function checkSignature(saved: SavedResponse, keys: PublicKeys): OracleVerifyReport['signature'] {
  if (!saved.signatureHeader) return { ok: false, kid: null, reason: 'no Tollgate-Signature header (save the response with curl -i, or pass --signature)' };
  const m = SIGNATURE_HEADER.exec(saved.signatureHeader);
  if (!m) return { ok: false, kid: null, reason: 'the Tollgate-Signature header is not "kid=<kid>, sig=<base64url>"' };
  const [, kid, sig] = m as unknown as [string, string, string];
  const key = keys.get(kid);
  if (!key) return { ok: false, kid, reason: `no public key with kid ${kid} (get them from GET /api/v1/keys)` };
  let ok = false;
  try {
    ok = ed25519.verify(fromBase64Url(sig), saved.body, key);
  } catch {
    ok = false;
  }
  return ok ? { ok, kid } : { ok, kid, reason: 'the signature does not match the body bytes (body changed, or another key signed it)' };
}

function checkSnapshot(s: unknown, keys: PublicKeys): { tenantId: string | null; ok: boolean; problems: string[] } {
  const problems: string[] = [];
  if (!isObject(s)) return { tenantId: null, ok: false, problems: ['a snapshot is not an object'] };
  const tenantId = typeof s.tenantId === 'string' ? s.tenantId : null;
  if (isObject(s.error)) return { tenantId, ok: false, problems: [`the oracle returned an error for this tenant: ${String(s.error.code)}`] };
  const checkpoint = s.checkpoint;
  if (!isObject(checkpoint) || typeof checkpoint.treeSize !== 'number' || typeof checkpoint.rootHash !== 'string') {
    return { tenantId, ok: false, problems: ['checkpoint { treeSize, rootHash } is missing'] };
  }
  if (s.championId === null) {
    if (s.proof !== null) problems.push('a tenant without a champion carries a proof');
    return { tenantId, ok: problems.length === 0, problems };
  }
  const proof = s.proof;
  if (!isObject(proof)) return { tenantId, ok: false, problems: ['the snapshot names a champion but carries no proof'] };
  const { leafIndex, treeSize, auditPath } = proof;
  const entry = proof.entry as AuditEntry | undefined;
  if (typeof leafIndex !== 'number' || typeof treeSize !== 'number' || !Array.isArray(auditPath) || !isObject(entry)) {
    return { tenantId, ok: false, problems: ['proof { leafIndex, treeSize, auditPath, entry } is incomplete'] };
  }
  if (treeSize !== checkpoint.treeSize) problems.push(`proof.treeSize ${treeSize} differs from checkpoint.treeSize ${checkpoint.treeSize}`);
  if (entry.seq !== leafIndex + 1) problems.push(`entry seq ${entry.seq} is not at leaf index ${leafIndex} (leaf i holds seq i+1)`);
  // Is it the entry that made this champion?
  const payload = isObject(entry.payload) ? entry.payload : {};
  if (entry.action !== 'model.transitioned' || payload.to !== 'CHAMPION') problems.push(`the entry is "${entry.action}" to ${String(payload.to)}, not a promotion to CHAMPION`);
  if (entry.subject !== `model:${String(s.championId)}`) problems.push(`the entry is about ${entry.subject}, not model:${String(s.championId)}`);
  if (payload.tenantId !== tenantId) problems.push(`the entry is for tenant ${String(payload.tenantId)}, not ${tenantId}`);
  // Is the entry itself intact and signed by a known node?
  try {
    if (digestPayload(entry.payload) !== entry.payloadDigest) problems.push('the entry payload does not match its payloadDigest');
    if (hashBody(entry) !== entry.hash) problems.push('the entry does not match its hash');
    const key = keys.get(entry.kid);
    if (!key) problems.push(`the entry is signed by an unknown key ${entry.kid}`);
    else if (!ed25519.verify(fromBase64Url(entry.signature), hexToBytes(entry.hash), key)) problems.push('the entry signature does not verify');
  } catch (err) {
    problems.push(`the entry is malformed: ${(err as Error).message}`);
  }
  // Is it in the log whose root the checkpoint states?
  try {
    const leaf = leafHash(utf8ToBytes(canonicalJson(entry)));
    const path = auditPath.map((p, i) => {
      if (typeof p !== 'string') throw new ProofError(`auditPath[${i}] is not a string`);
      return fromBase64(p, `auditPath[${i}]`);
    });
    verifyInclusion(leafIndex, checkpoint.treeSize, leaf, path, fromBase64(checkpoint.rootHash, 'rootHash'));
  } catch (err) {
    problems.push(`inclusion proof: ${(err as Error).message}`);
  }
  return { tenantId, ok: problems.length === 0, problems };
}

function fromBase64(text: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) throw new ProofError(`${what} is not a base64 SHA-256 hash`);
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
