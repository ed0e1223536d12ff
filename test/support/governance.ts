import { runCeremony, type MemberInput, type SignedCommittee } from '../../control-plane/governance/ceremony';
import { buildSubmission, type RequestBinding } from '../../control-plane/governance/member';
import { generateIdentity, toBase64Url, type KeyPair, type SealedShareFile } from '../../control-plane/governance/share-crypto';

export interface TestMember extends KeyPair {
  id: string;
  name: string;
}

/** N member identities and a fresh ceremony over them (M of N). */
export async function testCommittee(n = 7, threshold = 5): Promise<{ members: TestMember[]; committee: SignedCommittee; shares: SealedShareFile[] }> {
  const names = ['Ada', 'Bea', 'Cal', 'Dev', 'Eve', 'Fin', 'Gus', 'Hal', 'Ivy'];
  const members = Array.from({ length: n }, (_, i) => ({ id: `member-${i + 1}`, name: names[i] ?? `M${i + 1}`, ...generateIdentity() }));
  const inputs: MemberInput[] = members.map((m) => ({ id: m.id, name: m.name, publicKey: toBase64Url(m.publicKey) }));
  const { committee, shares } = await runCeremony(inputs, threshold);
  return { members, committee, shares };
}

/** The submission body member i sends for a request. */
export function submissionOf(members: TestMember[], shares: SealedShareFile[], i: number, request: RequestBinding) {
  return buildSubmission(shares[i]!, members[i]!.secretKey, request);
}
