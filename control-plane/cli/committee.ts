import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Io, ParsedArgs } from './main';
import { api, ApiError } from './http-client';
import { CeremonyInputError, committeeDigest, DEFAULT_THRESHOLD, MEMBER_ID, runCeremony, type MemberInput, type SignedCommittee } from '../governance/ceremony';
import { buildSubmission } from '../governance/member';
import { actionHash, fromBase64Url, generateIdentity, ShareDecryptionError, toBase64Url, type SealedShareFile } from '../governance/share-crypto';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** A bad invocation or input file of the governance commands (exit 2). */
export class CliInputError extends Error {
  override readonly name = 'CliInputError';
}

const connection = [
  { name: 'url', value: '<url>', help: 'the node (default $TOLLGATE_URL or http://localhost:8080)' },
  { name: 'token', value: '<token>', help: 'operator bearer token (default $TOLLGATE_TOKEN)' },
] as const;

/** The last value of an option, if given. */
export function one(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return v?.[v.length - 1];
}

function need(args: ParsedArgs, name: string): string {
  const v = one(args, name);
  if (v === undefined || v === '') throw new CliInputError(`missing --${name}`);
  return v;
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliInputError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliInputError(`${what} ${path} is not JSON: ${(err as Error).message}`);
  }
}

/** Runs a command body; input problems print and exit 2, API refusals print code and message and exit 1. */
export async function guarded(io: Io, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CliInputError || err instanceof CeremonyInputError) {
      io.stderr(`tollgate: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof ApiError) {
      io.stderr(`tollgate: refused by the server: ${err.status} ${err.code}: ${err.message}\n`);
      return EXIT_FAILED;
    }
    if (err instanceof ShareDecryptionError) {
      io.stderr(`tollgate: ${err.message}\n`);
      return EXIT_FAILED;
    }
    throw err;
  }
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

const keygen: Command = {
  path: ['committee', 'keygen'],
  synopsis: 'committee keygen --member <id> [--name <name>] [--out <dir>]',
  summary: "create a committee member's Ed25519 identity key pair",
  details: 'Writes <dir>/<id>.key (the secret, mode 0600; keep it offline) and <dir>/<id>.pub.json ({ id, name, publicKey }) to give to the ceremony.',
  options: [
    { name: 'member', value: '<id>', help: 'member id' },
    { name: 'name', value: '<name>', help: 'display name (default: the id)' },
    { name: 'out', value: '<dir>', help: 'folder (default: .)' },
  ],
  run: (args, io) =>
    guarded(io, () => {
      const id = need(args, 'member');
      if (!MEMBER_ID.test(id)) throw new CliInputError(`--member must match ${MEMBER_ID.source}`);
      const out = one(args, 'out') ?? '.';
      mkdirSync(out, { recursive: true });
      const keyFile = join(out, `${id}.key`);
      if (existsSync(keyFile)) throw new CliInputError(`${keyFile} exists; not overwriting a key`);
      const { secretKey, publicKey } = generateIdentity();
      writePrivate(keyFile, toBase64Url(secretKey) + '\n');
      secretKey.fill(0);
      const pub = { id, name: one(args, 'name') ?? id, publicKey: toBase64Url(publicKey) };
      writeFileSync(join(out, `${id}.pub.json`), JSON.stringify(pub, null, 2) + '\n');
      io.stdout(JSON.stringify(pub) + '\n');
      io.stderr(`wrote ${keyFile} (secret, 0600) and ${join(out, `${id}.pub.json`)}\n`);
      return EXIT_OK;
    }),
};

function readMembers(path: string): MemberInput[] {
  const raw = readJsonFile(path, 'members file');
  const list = Array.isArray(raw) ? raw : (raw as { members?: unknown })?.members;
  if (!Array.isArray(list)) throw new CliInputError(`members file ${path} must be a JSON array of { id, name, publicKey } (or { members: [...] })`);
  return list.map((m: { id?: unknown; name?: unknown; publicKey?: unknown }) => ({ id: String(m?.id ?? ''), name: String(m?.name ?? m?.id ?? ''), publicKey: String(m?.publicKey ?? '') }));
}

async function install(args: ParsedArgs, io: Io, committee: SignedCommittee): Promise<number> {
  const call = api({ url: one(args, 'url'), token: one(args, 'token') });
  const unlockId = one(args, 'unlock');
  try {
    const res = await call<{ committeeId: string; audit: { seq: number; hash: string } }>('PUT', '/api/v1/governance/committee', { committee, ...(unlockId ? { unlockId } : {}) });
    io.stdout(JSON.stringify({ committeeId: res.committeeId, publicKey: committee.publicKey, threshold: committee.threshold, audit: res.audit }, null, 2) + '\n');
    io.stderr(`committee ${res.committeeId} installed: ${committee.threshold} of ${committee.members.length}; ceremony audited at seq ${res.audit.seq}, audit head ${res.audit.hash}\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'GOVERNANCE_UNLOCK_REQUIRED') {
      io.stderr(
        [
          'tollgate: a committee is already installed; replacing it is governance-locked.',
          `  1. propose:  POST /api/v1/governance/unlocks {"action":"committee.change","params":{"committeeDigest":"${committeeDigest(committee)}"},"justification":"…"}`,
          '  2. have the CURRENT committee sign it (tollgate committee sign-share)',
          `  3. install:  tollgate committee install --committee <dir>/committee.json --unlock <unlock id>`,
          '',
        ].join('\n'),
      );
      return EXIT_FAILED;
    }
    throw err;
  }
}

const init: Command = {
  path: ['committee', 'init'],
  synopsis: 'committee init --members <members.json> [--threshold M] [--out <dir>] [--offline] [--unlock <id>] [--url <url>] [--token <token>]',
  summary: 'run the ceremony: a governance key split M-of-N, one sealed share file per member, the public part installed',
  details: [
    '<members.json> is an array of { id, name, publicKey } (base64url Ed25519, see `committee keygen`).',
    'The governance key exists only in this process: its secret is split with Shamir',
    '(default 5 of N), each share sealed to its member (X25519 from their Ed25519 key,',
    'HKDF-SHA256, ChaCha20-Poly1305), and zeroed. Writes <dir>/shares/<member>.share.json',
    'and <dir>/committee.json (public), then installs the committee on the node (ADMIN',
    'token): that is the ceremony\'s audit entry, whose head hash is printed. With',
    '--offline nothing is sent (install later with `committee install`).',
  ].join('\n'),
  options: [
    { name: 'members', value: '<file>', help: 'members file' },
    { name: 'threshold', value: '<M>', help: `shares needed (default ${DEFAULT_THRESHOLD})` },
    { name: 'out', value: '<dir>', help: 'output folder (default ./committee)' },
    { name: 'offline', help: 'write the files only' },
    { name: 'unlock', value: '<id>', help: 'committee.change unlock, when replacing a committee' },
    ...connection,
  ],
  run: (args, io) =>
    guarded(io, async () => {
      const members = readMembers(need(args, 'members'));
      const t = one(args, 'threshold') ?? String(DEFAULT_THRESHOLD);
      if (!/^\d+$/.test(t)) throw new CliInputError(`--threshold must be a whole number, got ${JSON.stringify(t)}`);
      const out = one(args, 'out') ?? 'committee';
      const { committee, shares } = await runCeremony(members, Number(t));
      mkdirSync(join(out, 'shares'), { recursive: true });
      writeFileSync(join(out, 'committee.json'), JSON.stringify(committee, null, 2) + '\n');
      for (const s of shares) writePrivate(join(out, 'shares', `${s.memberId}.share.json`), JSON.stringify(s, null, 2) + '\n');
      io.stderr(`ceremony ${committee.committeeId}: ${committee.threshold} of ${members.length}; public key ${committee.publicKey}; wrote ${join(out, 'committee.json')} and ${shares.length} sealed shares under ${join(out, 'shares')} (send each to its member)\n`);
      if (args.options.has('offline')) {
        io.stdout(JSON.stringify({ committeeId: committee.committeeId, publicKey: committee.publicKey, digest: committeeDigest(committee) }, null, 2) + '\n');
        return EXIT_OK;
      }
      return install(args, io, committee);
    }),
};

const installCommand: Command = {
  path: ['committee', 'install'],
  synopsis: 'committee install --committee <committee.json> [--unlock <id>] [--url <url>] [--token <token>]',
  summary: 'install a committee written by `committee init --offline` (replacing one needs a committee.change unlock)',
  options: [{ name: 'committee', value: '<file>', help: 'committee.json from the ceremony' }, { name: 'unlock', value: '<id>', help: 'committee.change unlock id' }, ...connection],
  run: (args, io) => guarded(io, () => install(args, io, readJsonFile(need(args, 'committee'), 'committee file') as SignedCommittee)),
};

const signShare: Command = {
  path: ['committee', 'sign-share'],
  synopsis: 'committee sign-share --request <id> --member <id> --key <key-file> --share <share-file> [--url <url>] [--token <token>]',
  summary: "open your sealed share locally, sign it bound to one unlock request, submit it",
  details: [
    'Fetches the request, prints what it unlocks, decrypts the share with your key (it never',
    'leaves this machine except inside the signed submission), signs { requestId, actionHash,',
    'nonce, shareDigest } with your identity key and posts it. Prints the progress (k of M).',
  ].join('\n'),
  options: [
    { name: 'request', value: '<id>', help: 'unlock request id' },
    { name: 'member', value: '<id>', help: 'your member id' },
    { name: 'key', value: '<file>', help: 'your identity secret key file (from committee keygen)' },
    { name: 'share', value: '<file>', help: 'your sealed share file (from the ceremony)' },
    ...connection,
  ],
  run: (args, io) =>
    guarded(io, async () => {
      const requestId = need(args, 'request');
      const memberId = need(args, 'member');
      const file = readJsonFile(need(args, 'share'), 'share file') as SealedShareFile;
      if (file?.v !== 1 || typeof file.ciphertext !== 'string') throw new CliInputError('the share file is not a tollgate sealed share (v 1)');
      if (file.memberId !== memberId) throw new CliInputError(`the share file belongs to ${file.memberId}, not ${memberId}`);
      let secretKey: Uint8Array;
      try {
        secretKey = fromBase64Url(readFileSync(need(args, 'key'), 'utf8').trim());
      } catch (err) {
        throw new CliInputError(`cannot read the key file: ${(err as Error).message}`);
      }
      if (secretKey.length !== 32) throw new CliInputError('the key file must hold a base64url 32-byte Ed25519 secret key');
      const call = api({ url: one(args, 'url'), token: one(args, 'token') });
      try {
        const request = await call<{ id: string; action: string; params: unknown; justification: string; actionHash: string; nonce: string; proposedBy: string; state: string }>('GET', `/api/v1/governance/unlocks/${encodeURIComponent(requestId)}`);
        io.stderr(`request ${request.id}: ${request.action} ${JSON.stringify(request.params)} proposed by ${request.proposedBy} ("${request.justification}"), ${request.state}\n`);
        // What is signed is the hash: check it is the hash of what was shown, not trusting the node.
        if (request.id !== requestId || actionHash(request.action, request.params) !== request.actionHash) {
          io.stderr(`tollgate: the node's request does not match its action hash (or id); NOT signing\n`);
          return EXIT_FAILED;
        }
        const body = buildSubmission(file, secretKey, request);
        const res = await call<{ state: string; progress: string; received: Array<{ memberId: string }> }>('POST', `/api/v1/governance/unlocks/${encodeURIComponent(request.id)}/shares`, body);
        io.stdout(JSON.stringify({ request: request.id, member: memberId, state: res.state, progress: res.progress, signed: res.received.map((r) => r.memberId) }) + '\n');
        io.stderr(`share of ${memberId} accepted: ${res.state === 'PENDING' ? res.progress : res.state}\n`);
        return EXIT_OK;
      } finally {
        secretKey.fill(0);
      }
    }),
};

/** `tollgate committee …` rows for the CLI table. */
export const COMMITTEE_COMMANDS: readonly Command[] = [keygen, init, installCommand, signShare];
