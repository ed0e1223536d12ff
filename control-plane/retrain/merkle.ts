import { createHash } from 'node:crypto';

/**
 * The RFC 6962 Merkle tree hash, minimal: leaf = SHA-256(0x00 ‖ data),
 * node = SHA-256(0x01 ‖ left ‖ right), split at the largest power of two
 * below n; the empty tree hashes to SHA-256(""). Used for dataset snapshots.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  return subtree(leaves.map(leafHash), 0, leaves.length);
}

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(Uint8Array.of(0)).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Uint8Array.of(1)).update(left).update(right).digest();
}

function subtree(hashes: readonly Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 1) return hashes[from]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(subtree(hashes, from, from + k), subtree(hashes, from + k, to));
}
