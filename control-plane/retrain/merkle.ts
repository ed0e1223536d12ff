import * as rfc6962 from '../merkle/rfc6962';

/**
 * The RFC 6962 Merkle tree hash of dataset snapshots: the one implementation
 * in control-plane/merkle (leaf = SHA-256(0x00 ‖ data), node =
 * SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below n,
 * the empty tree = SHA-256("")), as Buffers for hex encoding.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Buffer {
  return Buffer.from(rfc6962.rootOfLeafHashes(leaves.map((l) => rfc6962.leafHash(l))));
}

export function leafHash(data: Uint8Array): Buffer {
  return Buffer.from(rfc6962.leafHash(data));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return Buffer.from(rfc6962.nodeHash(left, right));
}
