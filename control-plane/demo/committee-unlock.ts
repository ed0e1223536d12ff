import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64Url } from '../audit/format';
import { buildSubmission } from '../governance/member';
import type { SealedShareFile } from '../governance/share-crypto';
import { expectOk, type Call } from './api';
import type { DemoCredentials } from './credentials';

/**
 * A governance unlock signed by the demo committee, each member from their
 * own key and sealed share file in the data folder (what each would do with
 * `tollgate committee sign-share`). Returns the unlock id for the action.
 */
export async function unlockWithDemoCommittee(
  d: { call: Call; credentials: DemoCredentials; dataDir: string },
  action: string,
  params: Record<string, unknown>,
  justification: string,
): Promise<string> {
  const committee = d.credentials.committee;
  if (!committee) throw new Error('the demo has no committee of its own (another one was installed)');
  const admin = d.credentials.users.admin.token;
  const proposed = await expectOk(d.call, 'POST', '/api/v1/governance/unlocks', { action, params, justification }, admin, [201]);
  const request = proposed.body as { id: string; actionHash: string; nonce: string; threshold: number };
  for (const member of committee.members.slice(0, request.threshold)) {
    const secretKey = fromBase64Url(readFileSync(join(d.dataDir, member.keyFile), 'utf8').trim());
    const share = JSON.parse(readFileSync(join(d.dataDir, member.shareFile), 'utf8')) as SealedShareFile;
    try {
      await expectOk(d.call, 'POST', `/api/v1/governance/unlocks/${request.id}/shares`, buildSubmission(share, secretKey, request), admin, [200]);
    } finally {
      secretKey.fill(0);
    }
  }
  return request.id;
}
