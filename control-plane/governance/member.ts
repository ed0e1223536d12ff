import { openShare, shareBinding, shareDigest, sign, toBase64Url, type SealedShareFile } from './share-crypto';

/** What a member needs to know about a request to sign a share for it. */
export interface RequestBinding {
  id: string;
  actionHash: string;
  nonce: string;
}

/**
 * A member's side of a submission: opens the sealed share locally and signs
 * the binding { requestId, actionHash, nonce, shareDigest } with the identity
 * key. Returns the body of POST /governance/unlocks/:id/shares.
 */
export function buildSubmission(file: SealedShareFile, secretKey: Uint8Array, request: RequestBinding): { memberId: string; share: string; signature: string } {
  const share = openShare(file, secretKey);
  try {
    const signature = sign(shareBinding({ requestId: request.id, actionHash: request.actionHash, nonce: request.nonce, shareDigest: shareDigest(share) }), secretKey);
    return { memberId: file.memberId, share: toBase64Url(share), signature };
  } finally {
    share.fill(0);
  }
}
