import type { Signer } from '../ports/signer';
import { canonicalJson, digestPayload, hashBody, signingInput, toBase64Url, type AuditEntry } from './format';

/** What a caller says happened; the chain fields are added by `sealEntry`. */
export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  payload: Record<string, unknown>;
}

/** Builds the next chained, signed entry after `prev` (seq 0 / genesis for the first). */
export function sealEntry(input: AuditInput, prev: { seq: number; hash: string }, at: Date, signer: Signer): AuditEntry {
  // Store exactly what was digested: a JSON copy, so values JSON cannot carry
  // fail here and later changes to the caller's object cannot break the chain.
  const payload = JSON.parse(canonicalJson(input.payload)) as Record<string, unknown>;
  const body = {
    seq: prev.seq + 1,
    at: at.toISOString(),
    actor: input.actor,
    action: input.action,
    subject: input.subject,
    payloadDigest: digestPayload(payload),
    prevHash: prev.hash,
  };
  const hash = hashBody(body);
  return { ...body, payload, hash, kid: signer.kid, signature: toBase64Url(signer.sign(signingInput(hash))) };
}
