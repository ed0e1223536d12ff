import { sha256 } from '@noble/hashes/sha2.js';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing and proof verification. Pure JS
 * (@noble/hashes) so the server, the offline CLI and a browser compute the
 * same bytes. Sizes and indices are plain numbers: arithmetic here never uses
 * the 32-bit bit operators, so logs up to 2^53 entries are handled.
 */

export const HASH_SIZE = 32;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(data.length + 1);
  buf[0] = LEAF_PREFIX;
  buf.set(data, 1);
  return sha256(buf);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = NODE_PREFIX;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** The root of the empty tree: SHA-256 of the empty string. */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** The largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over a list of leaf hashes, straight from the RFC's recursion (reference; O(n)). */
export function rootOfLeafHashes(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(rootOfLeafHashes(leaves.slice(0, k)), rootOfLeafHashes(leaves.slice(k)));
}

/** Why a proof did not verify. */
export class ProofError extends Error {
  override readonly name = 'ProofError';
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const isOdd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

function checkHash(h: Uint8Array, what: string): void {
  if (h.length !== HASH_SIZE) throw new ProofError(`${what} is ${h.length} bytes, not ${HASH_SIZE}`);
}

/**
 * The root an inclusion proof implies (RFC 9162 §2.1.3.2); throws ProofError
 * when the proof cannot be a path for that index and size.
 */
export function rootFromInclusionProof(leafIndex: number, treeSize: number, leaf: Uint8Array, auditPath: readonly Uint8Array[]): Uint8Array {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0) throw new ProofError('leaf index and tree size must be whole numbers');
  if (leafIndex >= treeSize) throw new ProofError(`leaf index ${leafIndex} is not below tree size ${treeSize}`);
  checkHash(leaf, 'the leaf hash');
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const [i, p] of auditPath.entries()) {
    checkHash(p, `audit path element ${i}`);
    if (sn === 0) throw new ProofError(`the audit path is too long (${auditPath.length} elements)`);
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ProofError(`the audit path is too short (${auditPath.length} elements)`);
  return r;
}

/** Checks an inclusion proof against a root; throws ProofError saying what is wrong. */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Uint8Array, auditPath: readonly Uint8Array[], root: Uint8Array): void {
  checkHash(root, 'the root');
  const computed = rootFromInclusionProof(leafIndex, treeSize, leaf, auditPath);
  if (!equalBytes(computed, root)) throw new ProofError('the audit path leads to a different root');
}

/**
 * Checks a consistency proof between two tree heads (RFC 9162 §2.1.4.2);
 * throws ProofError saying what is wrong.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0) throw new ProofError('tree sizes must be whole numbers');
  if (size2 < size1) throw new ProofError(`size2 ${size2} is below size1 ${size1}`);
  if (size1 === size2) {
    if (proof.length > 0) throw new ProofError('equal sizes need an empty proof');
    if (!equalBytes(root1, root2)) throw new ProofError('equal sizes but different roots');
    return;
  }
  if (size1 === 0) {
    if (proof.length > 0) throw new ProofError('a proof from the empty tree must be empty');
    return;
  }
  if (proof.length === 0) throw new ProofError('the proof is empty');
  proof.forEach((p, i) => checkHash(p, `proof element ${i}`));
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  let path = [...proof];
  // When size1 is a power of two, root1 itself is the first node of the path.
  let isPow2 = true;
  for (let s = size1; s > 1; s = half(s)) if (isOdd(s)) isPow2 = false;
  if (isPow2) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ProofError('the consistency proof is too long');
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ProofError('the consistency proof is too short');
  if (!equalBytes(fr, root1)) throw new ProofError('the proof does not lead to root1');
  if (!equalBytes(sr, root2)) throw new ProofError('the proof does not lead to root2');
}
