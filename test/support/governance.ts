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

type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any; text: string }>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type TestCommittee = Awaited<ReturnType<typeof testCommittee>>;

/** Runs a ceremony and installs it through the API (needs an ADMIN caller). */
export async function installTestCommittee(admin: Call, n = 7, threshold = 5): Promise<TestCommittee> {
  const c = await testCommittee(n, threshold);
  const res = await admin('PUT', '/api/v1/governance/committee', { committee: c.committee });
  if (res.status !== 201) throw new Error(`installing the test committee failed: ${res.status} ${res.text}`);
  return c;
}

/**
 * For tests of governance-locked endpoints: proposes `action` with `params`
 * (MANAGER or ADMIN caller) and has the first M members sign; returns the
 * unlock id to pass as `unlockId`.
 */
export async function grantUnlock(caller: Call, c: TestCommittee, action: string, params: Record<string, unknown>): Promise<string> {
  const proposed = await caller('POST', '/api/v1/governance/unlocks', { action, params, justification: 'test unlock' });
  if (proposed.status !== 201) throw new Error(`proposing ${action} failed: ${proposed.status} ${proposed.text}`);
  const request = proposed.body as { id: string; actionHash: string; nonce: string; threshold: number };
  for (let i = 0; i < request.threshold; i++) {
    const res = await caller('POST', `/api/v1/governance/unlocks/${request.id}/shares`, submissionOf(c.members, c.shares, i, request));
    if (res.status !== 200) throw new Error(`share ${i} refused: ${res.status} ${res.text}`);
  }
  return request.id;
}
