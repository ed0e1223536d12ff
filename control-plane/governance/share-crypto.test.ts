import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { combine } from 'shamir-secret-sharing';
import { runCeremony, verifyCommitteeProof, committeeDigest, type MemberInput } from './ceremony';
import { generateIdentity, openShare, publicKeyOf, shareCommitment, toBase64Url, fromBase64Url, ShareDecryptionError, type SealedShareFile } from './share-crypto';

const test = suite('governance share crypto and ceremony');

const identities = Array.from({ length: 7 }, (_, i) => ({ id: `m${i + 1}`, ...generateIdentity() }));
const members: MemberInput[] = identities.map((m) => ({ id: m.id, name: `Member ${m.id}`, publicKey: toBase64Url(m.publicKey) }));

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head!, ...s]), ...subsets(rest, k)];
}

test('the ceremony: each member opens only their own share; commitments match; the proof verifies', async () => {
  const { committee, shares } = await runCeremony(members, 5);
  assert.is(shares.length, 7);
  assert.ok(verifyCommitteeProof(committee));
  for (const [i, file] of shares.entries()) {
    const share = openShare(file, identities[i]!.secretKey);
    assert.is(share.length, 33);
    assert.is(shareCommitment(committee.salt, file.memberId, file.index, share), committee.members[i]!.commitment);
    assert.throws(() => openShare(file, identities[(i + 1) % 7]!.secretKey), (e: unknown) => e instanceof ShareDecryptionError);
  }
  const tampered: SealedShareFile = { ...shares[0]!, ciphertext: flipFirst(shares[0]!.ciphertext) };
  assert.throws(() => openShare(tampered, identities[0]!.secretKey), /does not open/);
  const relabelled: SealedShareFile = { ...shares[0]!, index: 2 };
  assert.throws(() => openShare(relabelled, identities[0]!.secretKey), /does not open/, 'the label is authenticated');
  assert.not.ok(verifyCommitteeProof({ ...committee, threshold: 4 }), 'the proof covers the threshold');
  assert.is.not(committeeDigest(committee), committeeDigest({ ...committee, threshold: 4 }));
});

test('all 21 subsets of 5 of 7 shares give the key; every 4-subset gives something else', async () => {
  const { committee, shares } = await runCeremony(members, 5);
  const plain = shares.map((f, i) => openShare(f, identities[i]!.secretKey));
  const fives = subsets(plain, 5);
  assert.is(fives.length, 21);
  for (const subset of fives) {
    const secret = await combine(subset);
    assert.is(toBase64Url(publicKeyOf(secret)), committee.publicKey);
  }
  const fours = subsets(plain, 4);
  assert.is(fours.length, 35);
  for (const subset of fours) {
    const secret = await combine(subset);
    assert.is.not(toBase64Url(publicKeyOf(secret)), committee.publicKey);
  }
});

test('property: the commitment is bound to member, index and salt, and to every byte of the share', async () => {
  const { committee, shares } = await runCeremony(members, 5);
  const share = openShare(shares[0]!, identities[0]!.secretKey);
  const good = committee.members[0]!.commitment;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 1, max: 255 }), (byte, xor) => {
      const t = share.slice();
      t[byte] = t[byte]! ^ xor;
      return shareCommitment(committee.salt, 'm1', 1, t) !== good;
    }),
  );
  assert.is(shareCommitment(committee.salt, 'm1', 1, share), good);
  assert.is.not(shareCommitment(committee.salt, 'm2', 1, share), good);
  assert.is.not(shareCommitment(committee.salt, 'm1', 2, share), good);
  assert.is.not(shareCommitment('other-salt', 'm1', 1, share), good);
});

test('ceremony input errors name the problem', async () => {
  await assertRejects(runCeremony(members, 8), /threshold/);
  await assertRejects(runCeremony(members, 1), /threshold/);
  await assertRejects(runCeremony([members[0]!, members[0]!], 2), /twice/);
  await assertRejects(runCeremony([members[0]!, { ...members[1]!, publicKey: 'abc' }], 2), /m2: publicKey/);
  await assertRejects(runCeremony([members[0]!, { ...members[1]!, id: 'Bad Id' }], 2), /id must match/);
});

async function assertRejects(p: Promise<unknown>, re: RegExp) {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('should have thrown');
}

function flipFirst(b64: string): string {
  const bytes = fromBase64Url(b64);
  bytes[0] = bytes[0]! ^ 1;
  return toBase64Url(bytes);
}

test.run();
