import { bodyOf, digestPayload, fromBase64Url, GENESIS_HASH, hashBody, signingInput, type AuditEntry } from './format';

/** Checks one signature; the server passes node:crypto, the CLI @noble/curves. */
export type SignatureCheck = (kid: string, message: Uint8Array, signature: Uint8Array) => boolean | 'unknown-key';

export interface KnownHead {
  length: number;
  hash?: string;
}

export interface VerifyReport {
  ok: boolean;
  length: number;
  /** Hash of the last entry checked, or the genesis hash for an empty log. */
  head: string;
  firstBadIndex?: number;
  reason?: string;
}

/**
 * Recomputes the chain from seq 1: every entry's payload digest, hash,
 * link to the previous entry and signature. Reports the first bad index
 * (0-based position in `entries`) and why. With `knownHead`, a log shorter
 * than that head, or one whose entry at that length has another hash, is
 * reported as truncated or rewritten.
 */
export function verifyChain(entries: readonly AuditEntry[], check: SignatureCheck, knownHead?: KnownHead): VerifyReport {
  let prevHash = GENESIS_HASH;
  const bad = (index: number, reason: string): VerifyReport => ({
    ok: false,
    length: entries.length,
    head: prevHash,
    firstBadIndex: index,
    reason,
  });

  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const expectedSeq = i + 1;
    const shape = shapeProblem(entry);
    if (shape) return bad(i, shape);
    if (entry.seq !== expectedSeq) {
      if (entry.seq === expectedSeq - 1) return bad(i, `duplicate: seq ${entry.seq} appears twice`);
      if (entry.seq < expectedSeq) return bad(i, `reorder: seq ${entry.seq} appears after seq ${expectedSeq - 1}`);
      const laterHasExpected = entries.slice(i + 1).some((e) => e?.seq === expectedSeq);
      return laterHasExpected
        ? bad(i, `reorder: expected seq ${expectedSeq}, found seq ${entry.seq} (seq ${expectedSeq} comes later)`)
        : bad(i, `gap: expected seq ${expectedSeq}, found seq ${entry.seq} (entries missing)`);
    }
    if (entry.prevHash !== prevHash) return bad(i, `prev hash mismatch: entry does not link to the entry before it`);
    let digest: string;
    try {
      digest = digestPayload(entry.payload);
    } catch {
      return bad(i, 'payload is not valid JSON data');
    }
    if (digest !== entry.payloadDigest) return bad(i, 'payload digest mismatch: the payload was altered');
    if (hashBody(bodyOf(entry)) !== entry.hash) return bad(i, 'hash mismatch: the entry was altered');
    let signature: Uint8Array;
    try {
      signature = fromBase64Url(entry.signature);
    } catch {
      return bad(i, 'bad signature: not base64url');
    }
    const verdict = check(entry.kid, signingInput(entry.hash), signature);
    if (verdict === 'unknown-key') return bad(i, `bad signature: unknown signing key ${entry.kid}`);
    if (!verdict) return bad(i, 'bad signature');
    prevHash = entry.hash;
  }

  if (knownHead) {
    if (!Number.isSafeInteger(knownHead.length) || knownHead.length < 0) throw new RangeError('knownHead.length must be a whole number ≥ 0');
    if (knownHead.hash !== undefined && !/^[0-9a-f]{64}$/.test(knownHead.hash)) throw new RangeError('knownHead.hash must be hex SHA-256');
    if (entries.length < knownHead.length) {
      return bad(entries.length, `truncated: ${entries.length} entries, the known head has ${knownHead.length}`);
    }
    if (knownHead.hash !== undefined && knownHead.length > 0 && entries[knownHead.length - 1]!.hash !== knownHead.hash) {
      return bad(knownHead.length - 1, 'hash mismatch: the entry at the known head differs from the known head hash');
    }
  }
  return { ok: true, length: entries.length, head: prevHash };
}

function shapeProblem(entry: AuditEntry): string | null {
  if (typeof entry !== 'object' || entry === null) return 'malformed entry: not an object';
  if (!Number.isSafeInteger(entry.seq)) return 'malformed entry: seq is not an integer';
  for (const field of ['at', 'actor', 'action', 'subject', 'payloadDigest', 'prevHash', 'hash', 'kid', 'signature'] as const) {
    if (typeof entry[field] !== 'string') return `malformed entry: ${field} is not a string`;
  }
  if (!/^[0-9a-f]{64}$/.test(entry.hash)) return 'malformed entry: hash is not hex SHA-256';
  if (!/^[0-9a-f]{64}$/.test(entry.prevHash)) return 'malformed entry: prevHash is not hex SHA-256';
  return null;
}
