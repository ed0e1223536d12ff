import { combine } from 'shamir-secret-sharing';
import { actionSigningInput, fromBase64Url, shareBinding, shareCommitment, shareDigest, sign, verify } from './share-crypto';

export interface SubmissionCheck {
  share: Uint8Array;
  digest: string;
  /** null: accepted; else why it is refused. */
  refusal: null | 'signature' | 'commitment';
}

export class MalformedShareError extends Error {
  override readonly name = 'MalformedShareError';
}

/**
 * The cryptographic checks of one share submission, in order: the member's
 * signature over this request's binding, then the share against the
 * member's commitment. Pure; the service adds the state checks and storage.
 */
export function checkSubmission(
  input: { share: string; signature: string },
  request: { id: string; actionHash: string; nonce: string },
  member: { memberId: string; publicKey: string; shareIndex: number; commitment: string },
  salt: string,
): SubmissionCheck {
  let share: Uint8Array;
  try {
    share = fromBase64Url(input.share);
  } catch {
    throw new MalformedShareError('share must be base64url');
  }
  if (share.length !== 33) throw new MalformedShareError('a share of the governance key is 33 bytes');
  const digest = shareDigest(share);
  const binding = shareBinding({ requestId: request.id, actionHash: request.actionHash, nonce: request.nonce, shareDigest: digest });
  if (!verify(input.signature, binding, member.publicKey)) return { share, digest, refusal: 'signature' };
  if (shareCommitment(salt, member.memberId, member.shareIndex, share) !== member.commitment) return { share, digest, refusal: 'commitment' };
  return { share, digest, refusal: null };
}

/**
 * Combines M shares into the governance key, checks it is the committee's,
 * signs the action and zeroes the key before returning the signature.
 */
export async function reconstructAndSign(shares: Uint8Array[], publicKey: string, unlock: { action: string; params: unknown; actionHash: string; nonce: string }): Promise<string> {
  const secret = await combine(shares);
  let signature: string;
  try {
    signature = sign(actionSigningInput(unlock), secret);
  } finally {
    secret.fill(0);
  }
  // Verifying under the committee's public key proves the combined key is the committee's
  // (cheaper than deriving the public key from the secret).
  if (!verify(signature, actionSigningInput(unlock), publicKey)) throw new Error('the combined shares do not give the committee key');
  return signature;
}
