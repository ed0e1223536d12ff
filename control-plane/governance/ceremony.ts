import { randomBytes, randomUUID } from 'node:crypto';
import { split } from 'shamir-secret-sharing';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson, sha256Hex } from '../audit/format';
import {
  CEREMONY_TYPE,
  generateIdentity,
  parsePublicKey,
  sealShare,
  shareCommitment,
  sign,
  toBase64Url,
  verify,
  type SealedShareFile,
} from './share-crypto';

export const DEFAULT_MEMBERS = 7;
export const DEFAULT_THRESHOLD = 5;
export const MEMBER_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface MemberInput {
  id: string;
  name: string;
  /** base64url raw Ed25519 public key. */
  publicKey: string;
}

export interface CommitteeMember extends MemberInput {
  index: number;
  commitment: string;
}

/** What the server stores about a committee: nothing secret. */
export interface CommitteeDocument {
  committeeId: string;
  publicKey: string;
  threshold: number;
  salt: string;
  members: CommitteeMember[];
}

export interface SignedCommittee extends CommitteeDocument {
  /** The governance key's signature over the document: proof the ceremony held the key. */
  proof: string;
}

export class CeremonyInputError extends Error {
  override readonly name = 'CeremonyInputError';
}

/** Checks a member list and threshold; throws naming the problem. */
export function validateMembers(members: readonly MemberInput[], threshold: number): void {
  if (members.length < 2 || members.length > 255) throw new CeremonyInputError(`a committee has 2..255 members, got ${members.length}`);
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > members.length) {
    throw new CeremonyInputError(`the threshold must be an integer in 2..${members.length}, got ${threshold}`);
  }
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const [i, m] of members.entries()) {
    if (typeof m?.id !== 'string' || !MEMBER_ID.test(m.id)) throw new CeremonyInputError(`member ${i}: id must match ${MEMBER_ID.source}`);
    if (typeof m.name !== 'string' || m.name.trim().length === 0 || m.name.length > 200) throw new CeremonyInputError(`member ${m.id}: name must be 1..200 characters`);
    try {
      parsePublicKey(m.publicKey);
    } catch (err) {
      throw new CeremonyInputError(`member ${m.id}: publicKey is not a base64url Ed25519 public key (${(err as Error).message})`);
    }
    if (ids.has(m.id)) throw new CeremonyInputError(`member id ${m.id} appears twice`);
    if (keys.has(m.publicKey)) throw new CeremonyInputError(`member ${m.id} shares a public key with another member`);
    ids.add(m.id);
    keys.add(m.publicKey);
  }
}

/** The bytes the governance key signs to prove the ceremony. */
export function committeeSigningInput(doc: CommitteeDocument): Uint8Array {
  return utf8ToBytes(canonicalJson({ type: CEREMONY_TYPE, ...stripProof(doc) }));
}

/** Hex sha256 of the canonical document: the `committee.change` unlock's params. */
export function committeeDigest(doc: CommitteeDocument): string {
  return sha256Hex(canonicalJson(stripProof(doc)));
}

function stripProof(doc: CommitteeDocument): CommitteeDocument {
  const { committeeId, publicKey, threshold, salt, members } = doc;
  return { committeeId, publicKey, threshold, salt, members: members.map(({ id, name, publicKey, index, commitment }) => ({ id, name, publicKey, index, commitment })) };
}

/** True when the proof verifies against the document's own public key. */
export function verifyCommitteeProof(doc: SignedCommittee): boolean {
  try {
    return verify(doc.proof, committeeSigningInput(doc), parsePublicKey(doc.publicKey));
  } catch {
    return false;
  }
}

/**
 * The ceremony: a fresh governance Ed25519 key, its 32-byte secret split
 * M-of-N, each share committed to and sealed to its member. The secret and
 * the plain shares are zeroed before returning; only the public document and
 * the sealed files leave.
 */
export async function runCeremony(members: readonly MemberInput[], threshold: number): Promise<{ committee: SignedCommittee; shares: SealedShareFile[] }> {
  validateMembers(members, threshold);
  const committeeId = randomUUID();
  const salt = toBase64Url(randomBytes(16));
  const { secretKey, publicKey } = generateIdentity();
  let plainShares: Uint8Array[] = [];
  try {
    plainShares = await split(secretKey, members.length, threshold);
    const committeeMembers: CommitteeMember[] = members.map((m, i) => ({
      id: m.id,
      name: m.name.trim(),
      publicKey: m.publicKey,
      index: i + 1,
      commitment: shareCommitment(salt, m.id, i + 1, plainShares[i]!),
    }));
    const doc: CommitteeDocument = { committeeId, publicKey: toBase64Url(publicKey), threshold, salt, members: committeeMembers };
    const proof = sign(committeeSigningInput(doc), secretKey);
    const shares = committeeMembers.map((m, i) =>
      sealShare(plainShares[i]!, parsePublicKey(m.publicKey), { committeeId, memberId: m.id, index: m.index }, m.commitment),
    );
    return { committee: { ...doc, proof }, shares };
  } finally {
    secretKey.fill(0);
    for (const s of plainShares) s.fill(0);
  }
}
