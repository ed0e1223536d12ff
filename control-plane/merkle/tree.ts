import { emptyRoot, nodeHash, splitPoint } from './rfc6962';

/**
 * An append-only RFC 6962 tree that keeps the hash of every complete
 * (perfect) subtree: appending is amortized O(1), and the root or an
 * inclusion/consistency proof at any size up to the current one costs
 * O(log n) stored lookups plus O(log n) hashes for the ragged right edge —
 * never a pass over the whole log. Memory: about 2n hashes.
 */
export class MerkleTree {
  /** levels[h][j] = hash of the perfect subtree of 2^h leaves starting at leaf j·2^h. */
  readonly #levels: Uint8Array[][] = [[]];

  get size(): number {
    return this.#levels[0]!.length;
  }

  /** Appends one leaf hash (already SHA-256(0x00 ‖ data)). */
  append(leaf: Uint8Array): void {
    let h = 0;
    let node = leaf;
    for (;;) {
      const level = (this.#levels[h] ??= []);
      level.push(node);
      if (level.length % 2 === 1) return;
      node = nodeHash(level[level.length - 2]!, node);
      h++;
    }
  }

  /** The leaf hash at an index. */
  leaf(index: number): Uint8Array {
    const leaf = this.#levels[0]![index];
    if (!leaf) throw new RangeError(`no leaf ${index} (size ${this.size})`);
    return leaf;
  }

  /** The root of the tree over the first `size` leaves (default: all). */
  root(size: number = this.size): Uint8Array {
    this.#checkSize(size);
    return size === 0 ? emptyRoot() : this.#range(0, size);
  }

  /** The audit path of a leaf in the tree of the first `size` leaves. */
  inclusionProof(leafIndex: number, size: number = this.size): Uint8Array[] {
    this.#checkSize(size);
    if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= size) throw new RangeError(`leaf index ${leafIndex} is outside a tree of ${size}`);
    const path: Uint8Array[] = [];
    this.#path(leafIndex, 0, size, path);
    return path;
  }

  /** The proof that the tree of size1 leaves is a prefix of the tree of size2 leaves. */
  consistencyProof(size1: number, size2: number = this.size): Uint8Array[] {
    this.#checkSize(size2);
    if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > size2) throw new RangeError(`size1 ${size1} is outside 0..${size2}`);
    const proof: Uint8Array[] = [];
    if (size1 > 0 && size1 < size2) this.#subproof(size1, 0, size2, true, proof);
    return proof;
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`tree size ${size} is outside 0..${this.size}`);
  }

  /** MTH of leaves [start, start+n); start is always a multiple of the left part's size. */
  #range(start: number, n: number): Uint8Array {
    let height = 0;
    while (2 ** height < n) height++;
    if (2 ** height === n) return this.#levels[height]![start / n]!;
    const k = splitPoint(n);
    return nodeHash(this.#range(start, k), this.#range(start + k, n - k));
  }

  #path(m: number, start: number, n: number, out: Uint8Array[]): void {
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      this.#path(m, start, k, out);
      out.push(this.#range(start + k, n - k));
    } else {
      this.#path(m - k, start + k, n - k, out);
      out.push(this.#range(start, k));
    }
  }

  #subproof(m: number, start: number, n: number, complete: boolean, out: Uint8Array[]): void {
    if (m === n) {
      if (!complete) out.push(this.#range(start, n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.#subproof(m, start, k, complete, out);
      out.push(this.#range(start + k, n - k));
    } else {
      this.#subproof(m - k, start + k, n - k, false, out);
      out.push(this.#range(start, k));
    }
  }
}
