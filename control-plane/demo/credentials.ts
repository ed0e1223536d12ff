import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError } from '../../actors/errors';
import type { Principal } from '../../actors/principal';
import type { Role } from '../../db/schema/enums';
import { runCeremony, type MemberInput } from '../governance/ceremony';
import { toBase64Url } from '../audit/format';
import { generateIdentity } from '../governance/share-crypto';
import type { IdentityService } from '../identity/identity-service';
import { expectOk, type Call } from './api';

/** Where the demo keeps its users' tokens and the committee's files (all 0600, folder 0700). */
export const CREDENTIALS_FILE = 'demo-credentials.json';
export const COMMITTEE_DIR = join('demo', 'committee');

export interface DemoUser {
  name: string;
  role: Role;
  token: string;
  tokenId: string;
}

export interface DemoCredentials {
  v: 1;
  createdAt: string;
  users: { admin: DemoUser; manager: DemoUser; agronomist: DemoUser };
  committee: {
    committeeId: string;
    threshold: number;
    publicKey: string;
    /** Paths relative to the data folder. */
    committeeFile: string;
    members: Array<{ id: string; name: string; keyFile: string; shareFile: string }>;
  } | null;
}

const DEMO_PRINCIPAL: Principal = { kind: 'system', name: 'demo', role: 'ADMIN' };
const MEMBER_NAMES = ['Ada', 'Bea', 'Cal', 'Dev', 'Eve', 'Fin', 'Gus'];

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_FILE);
}

export function readCredentials(dataDir: string): DemoCredentials | null {
  const file = credentialsPath(dataDir);
  if (!existsSync(file)) return null;
  const c = JSON.parse(readFileSync(file, 'utf8')) as DemoCredentials;
  if (c.v !== 1 || !c.users?.admin?.token) throw new Error(`${file} is not a demo credentials file (delete it to start the demo afresh)`);
  return c;
}

function writePrivate(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/**
 * The demo's users (one per role, tokens without expiry: the demo clock runs
 * fast) and its governance committee (7 members, 5 to unlock), created once;
 * a later start reads them back. Returns them and whether they were created now.
 */
export async function ensureDemoCredentials(deps: { dataDir: string; identity: IdentityService; call: Call; now: () => Date }): Promise<{ credentials: DemoCredentials; created: boolean }> {
  const file = credentialsPath(deps.dataDir);
  const existing = readCredentials(deps.dataDir);
  if (existing) {
    const probe = await deps.call('GET', '/api/v1/clock', undefined, existing.users.admin.token);
    if (probe.status === 401) {
      throw new Error(`the demo tokens in ${file} are unknown to this database (was its database replaced?): delete ${file} and ${join(deps.dataDir, 'demo')} to start the demo afresh`);
    }
    return { credentials: existing, created: false };
  }
  mkdirSync(deps.dataDir, { recursive: true, mode: 0o700 });
  const user = async (name: string, role: Role): Promise<DemoUser> => {
    try {
      const u = await deps.identity.createUser(name, role, DEMO_PRINCIPAL, null);
      return { name: u.name, role: u.role, token: u.token, tokenId: u.tokenId };
    } catch (err) {
      if (err instanceof AlreadyExistsError) {
        throw new Error(`the demo user ${name} exists but ${file}, which held its token, is gone: start with a fresh TOLLGATE_DATA_DIR, or TOLLGATE_DEMO=0`, { cause: err });
      }
      throw err;
    }
  };
  const users = { admin: await user('demo-admin', 'ADMIN'), manager: await user('demo-manager', 'MANAGER'), agronomist: await user('demo-agronomist', 'AGRONOMIST') };
  const credentials: DemoCredentials = { v: 1, createdAt: deps.now().toISOString(), users, committee: null };
  // The tokens are written before anything else can fail: a retry must find them.
  writePrivate(file, JSON.stringify(credentials, null, 2) + '\n');

  const current = await deps.call('GET', '/api/v1/governance/committee', undefined, users.admin.token);
  if (current.status === 200) return { credentials, created: true }; // a committee is already installed: the demo leaves it alone
  const dir = join(deps.dataDir, COMMITTEE_DIR);
  mkdirSync(join(dir, 'shares'), { recursive: true, mode: 0o700 });
  const identities = MEMBER_NAMES.map((name) => ({ id: name.toLowerCase(), name, ...generateIdentity() }));
  const inputs: MemberInput[] = identities.map((m) => ({ id: m.id, name: m.name, publicKey: toBase64Url(m.publicKey) }));
  const { committee, shares } = await runCeremony(inputs, 5);
  const members = identities.map((m) => {
    const keyFile = join(COMMITTEE_DIR, `${m.id}.key`);
    writePrivate(join(deps.dataDir, keyFile), toBase64Url(m.secretKey) + '\n');
    m.secretKey.fill(0);
    writeFileSync(join(dir, `${m.id}.pub.json`), JSON.stringify({ id: m.id, name: m.name, publicKey: toBase64Url(m.publicKey) }, null, 2) + '\n');
    return { id: m.id, name: m.name, keyFile, shareFile: join(COMMITTEE_DIR, 'shares', `${m.id}.share.json`) };
  });
  for (const s of shares) writePrivate(join(deps.dataDir, COMMITTEE_DIR, 'shares', `${s.memberId}.share.json`), JSON.stringify(s, null, 2) + '\n');
  writeFileSync(join(dir, 'committee.json'), JSON.stringify(committee, null, 2) + '\n');
  await expectOk(deps.call, 'PUT', '/api/v1/governance/committee', { committee }, users.admin.token, [201]);
  credentials.committee = { committeeId: committee.committeeId, threshold: committee.threshold, publicKey: committee.publicKey, committeeFile: join(COMMITTEE_DIR, 'committee.json'), members };
  writePrivate(file, JSON.stringify(credentials, null, 2) + '\n');
  return { credentials, created: true };
}

/** The lines printed once, on the start that created the credentials. */
export function credentialsBanner(c: DemoCredentials, dataDir: string): string {
  const lines = [
    '',
    '  Demo: users for each role were created (tokens shown once; also saved, mode 0600, to',
    `  ${credentialsPath(dataDir)}):`,
    '',
    ...Object.values(c.users).map((u) => `    ${u.role.padEnd(10)} ${u.name.padEnd(16)} ${u.token}`),
  ];
  if (c.committee) {
    lines.push('', `  Demo governance committee ${c.committee.committeeId}: ${c.committee.threshold} of ${c.committee.members.length} members unlock;`, `  member keys and sealed shares under ${join(dataDir, COMMITTEE_DIR)}`);
  }
  lines.push('');
  return lines.join('\n');
}
