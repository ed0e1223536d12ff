import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyRoot, leafHash, ProofError, rootFromInclusionProof, rootOfLeafHashes, verifyConsistency, verifyInclusion } from './rfc6962';
import { MerkleTree } from './tree';

/*
 * Test vectors from transparency-dev/merkle (Go), the RFC 6962 library used by
 * Trillian and the Go checksum database:
 *   testonly/constants.go  — LeafInputs(), NodeHashes(), RootHashes()
 *   proof/verify_test.go   — inclusionProofs (1-based leaf numbers), consistencyProofs
 * https://github.com/transparency-dev/merkle
 */
const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
];
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION: Array<{ leaf: number; size: number; proof: string[] }> = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY: Array<{ size1: number; size2: number; proof: string[] }> = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const hex = (b: Uint8Array) => bytesToHex(b);
const h = (s: string) => hexToBytes(s);

function vectorTree(size = 8): MerkleTree {
  const tree = new MerkleTree();
  for (const input of LEAF_INPUTS.slice(0, size)) tree.append(leafHash(h(input)));
  return tree;
}

test('leaf hashes match transparency-dev/merkle NodeHashes()[0]', () => {
  assert.equal(LEAF_INPUTS.map((i) => hex(leafHash(h(i)))), LEAF_HASHES);
});

test('roots for every size 0..8 match RootHashes(), incrementally and from a fresh reference', () => {
  assert.is(hex(emptyRoot()), ROOTS[0]);
  const tree = new MerkleTree();
  for (let n = 1; n <= 8; n++) {
    tree.append(leafHash(h(LEAF_INPUTS[n - 1]!)));
    assert.is(hex(tree.root()), ROOTS[n], `root of size ${n}`);
    assert.is(hex(rootOfLeafHashes(LEAF_HASHES.slice(0, n).map(h))), ROOTS[n]);
  }
  // Historical roots from the grown tree.
  for (let n = 0; n <= 8; n++) assert.is(hex(tree.root(n)), ROOTS[n], `historical root ${n}`);
});

test('inclusion proofs match the published vectors and verify; every corruption is refused', () => {
  const tree = vectorTree();
  for (const v of INCLUSION) {
    const index = v.leaf - 1;
    const proof = tree.inclusionProof(index, v.size);
    assert.equal(proof.map(hex), v.proof, `proof for leaf ${index} in ${v.size}`);
    const root = h(ROOTS[v.size]!);
    const leaf = h(LEAF_HASHES[index]!);
    verifyInclusion(index, v.size, leaf, proof, root);
    assert.is(hex(rootFromInclusionProof(index, v.size, leaf, proof)), ROOTS[v.size]);
    // The same corruptions as verify_test.go's corruptInclusionProof.
    const bad: Array<[string, () => void]> = [
      ['index - 1', () => verifyInclusion(index - 1, v.size, leaf, proof, root)],
      ['index + 1', () => verifyInclusion(index + 1, v.size, leaf, proof, root)],
      ['index ^ 2', () => verifyInclusion(index ^ 2, v.size, leaf, proof, root)],
      ['size * 2', () => verifyInclusion(index, v.size * 2, leaf, proof, root)],
      ['size / 2', () => verifyInclusion(index, Math.floor(v.size / 2), leaf, proof, root)],
      ['wrong leaf', () => verifyInclusion(index, v.size, leafHash(h('ff')), proof, root)],
      ['empty root', () => verifyInclusion(index, v.size, leaf, proof, emptyRoot())],
      ['trailing root', () => verifyInclusion(index, v.size, leaf, [...proof, root], root)],
      ['preceding root', () => verifyInclusion(index, v.size, leaf, [root, ...proof], root)],
      ['short element', () => verifyInclusion(index, v.size, leaf, [...proof, new Uint8Array(0)], root)],
    ];
    proof.forEach((_, i) =>
      bad.push([
        `bit flip in ${i}`,
        () => {
          const p = proof.map((x) => x.slice());
          p[i]![0]! ^= 8;
          verifyInclusion(index, v.size, leaf, p, root);
        },
      ]),
    );
    if (proof.length > 0) bad.push(['removed element', () => verifyInclusion(index, v.size, leaf, proof.slice(0, -1), root)]);
    for (const [what, run] of bad) assert.throws(run, (e: unknown) => e instanceof ProofError, `${what} (leaf ${index}, size ${v.size}) must fail`);
  }
});

test('consistency proofs match the published vectors and verify', () => {
  const tree = vectorTree();
  for (const v of CONSISTENCY) {
    const proof = tree.consistencyProof(v.size1, v.size2);
    assert.equal(proof.map(hex), v.proof, `consistency ${v.size1}→${v.size2}`);
    verifyConsistency(v.size1, v.size2, proof, h(ROOTS[v.size1]!), h(ROOTS[v.size2]!));
    if (proof.length > 0) {
      assert.throws(() => verifyConsistency(v.size1, v.size2, proof, h(ROOTS[v.size2]!), h(ROOTS[v.size1]!)), (e: unknown) => e instanceof ProofError);
      assert.throws(() => verifyConsistency(v.size1, v.size2, proof.slice(0, -1), h(ROOTS[v.size1]!), h(ROOTS[v.size2]!)), (e: unknown) => e instanceof ProofError);
      assert.throws(() => verifyConsistency(v.size1 + 1, v.size2, proof, h(ROOTS[v.size1]!), h(ROOTS[v.size2]!)), (e: unknown) => e instanceof ProofError);
    }
  }
});

test('property: for random logs, the incremental tree agrees with the RFC recursion and every proof verifies', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 70 }), fc.nat(), fc.nat(), (leaves, a, b) => {
      const tree = new MerkleTree();
      const hashes = leaves.map(leafHash);
      hashes.forEach((x) => tree.append(x));
      const size = 1 + (a % leaves.length);
      const index = b % size;
      const root = tree.root(size);
      assert.is(hex(root), hex(rootOfLeafHashes(hashes.slice(0, size))));
      const path = tree.inclusionProof(index, size);
      verifyInclusion(index, size, hashes[index]!, path, root);
      // Any other leaf at that position is refused.
      const other = leafHash(new Uint8Array([...leaves[index]!, 1]));
      assert.throws(() => verifyInclusion(index, size, other, path, root), (e: unknown) => e instanceof ProofError);
      const size1 = 1 + (b % size);
      verifyConsistency(size1, tree.size, tree.consistencyProof(size1), tree.root(size1), tree.root());
    }),
    { numRuns: 300 },
  );
});

test('a million-leaf tree answers a proof without touching every leaf', () => {
  const tree = new MerkleTree();
  const leaf = leafHash(new Uint8Array([1]));
  for (let i = 0; i < 1 << 17; i++) tree.append(leaf);
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) verifyInclusion(i * 997, tree.size, leaf, tree.inclusionProof(i * 997), tree.root());
  // 100 roots + proofs + verifies: a pass over 131k leaves per call would take seconds.
  assert.ok(performance.now() - t0 < 1_000, `took ${performance.now() - t0} ms`);
});

test.run();
