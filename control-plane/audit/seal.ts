import type { Signer } from '../ports/signer';
import { digestPayload, hashBody, signingInput, toBase64Url, type AuditEntry } from './format';

/** What a caller says happened; the chain fields are added by `sealEntry`. */
export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  payload: Record<string, unknown>;
}

/** Builds the next chained, signed entry after `prev` (seq 0 / genesis for the first). */
export function sealEntry(input: AuditInput, prev: { seq: number; hash: string }, at: Date, signer: Signer): AuditEntry {
  const body = {
    seq: prev.seq + 1,
    at: at.toISOString(),
    actor: input.actor,
    action: input.action,
    subject: input.subject,
    payloadDigest: digestPayload(input.payload),
    prevHash: prev.hash,
  };
  const hash = hashBody(body);
  return { ...body, payload: input.payload, hash, kid: signer.kid, signature: toBase64Url(signer.sign(signingInput(hash))) };
}
