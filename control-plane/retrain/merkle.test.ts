import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { leafHash, merkleRoot, nodeHash } from './merkle';

const test = suite('RFC 6962 merkle root');
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const b = (s: string) => Buffer.from(s);

test('empty tree = SHA-256 of nothing; one leaf = its leaf hash with the 0x00 prefix', () => {
  assert.is(merkleRoot([]).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.is(merkleRoot([b('a')]).toString('hex'), sha(Uint8Array.of(0), b('a')).toString('hex'));
});

test('three leaves split 2 + 1 (largest power of two below n), written out by hand', () => {
  const [a, c, d] = [leafHash(b('a')), leafHash(b('b')), leafHash(b('c'))];
  const expected = sha(Uint8Array.of(1), sha(Uint8Array.of(1), a, c), d);
  assert.is(merkleRoot([b('a'), b('b'), b('c')]).toString('hex'), expected.toString('hex'));
  // Five leaves: 4 + 1, not 3 + 2.
  const l = ['0', '1', '2', '3', '4'].map((s) => leafHash(b(s)));
  const five = nodeHash(nodeHash(nodeHash(l[0]!, l[1]!), nodeHash(l[2]!, l[3]!)), l[4]!);
  assert.is(merkleRoot(['0', '1', '2', '3', '4'].map(b)).toString('hex'), five.toString('hex'));
});

test('RFC 6962 test vector: the 8-leaf tree of the certificate-transparency test data', () => {
  // Leaves and root from google/certificate-transparency's merkle_tree_test.cc.
  const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
  assert.is(merkleRoot(leaves).toString('hex'), '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
});

test('changing any one leaf changes the root', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 40 }), fc.nat(), (leaves, i) => {
      const j = i % leaves.length;
      const changed = leaves.map((l, k) => (k === j ? Uint8Array.from([...l, 1]) : l));
      return !merkleRoot(leaves).equals(merkleRoot(changed));
    }),
  );
});

test.run();
