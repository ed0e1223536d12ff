import type { Command } from './main';
import { api } from './http-client';
import { CliInputError, guarded, one } from './committee';

const connection = [
  { name: 'url', value: '<url>', help: 'the node (default $TOLLGATE_URL or http://localhost:8080)' },
  { name: 'token', value: '<token>', help: 'ADMIN bearer token (default $TOLLGATE_TOKEN)' },
] as const;

const add: Command = {
  path: ['user', 'add'],
  synopsis: 'user add <name> --role AGRONOMIST|MANAGER|ADMIN [--expires-in-days N] [--url <url>] [--token <token>]',
  summary: 'create an operator; prints the token once',
  options: [{ name: 'role', value: '<role>', help: 'AGRONOMIST, MANAGER or ADMIN' }, { name: 'expires-in-days', value: '<N>', help: 'token lifetime (default 90)' }, ...connection],
  run: (args, io) =>
    guarded(io, async () => {
      const [name, ...extra] = args.positionals;
      if (!name || extra.length > 0) throw new CliInputError('user add needs exactly one <name>');
      const role = one(args, 'role');
      if (!role) throw new CliInputError('missing --role');
      const days = one(args, 'expires-in-days');
      if (days !== undefined && !/^\d+$/.test(days)) throw new CliInputError('--expires-in-days must be a whole number');
      const res = await api({ url: one(args, 'url'), token: one(args, 'token') })('POST', '/api/v1/users', { name, role, ...(days ? { expiresInDays: Number(days) } : {}) });
      io.stdout(JSON.stringify(res, null, 2) + '\n');
      io.stderr(`user ${res.name} (${res.role}) created; token ${res.tokenId} expires ${res.expiresAt ?? 'never'}. The token is shown once: keep it now.\n`);
      return 0;
    }),
};

const revoke: Command = {
  path: ['user', 'revoke'],
  synopsis: 'user revoke <name> <tokenId> [--url <url>] [--token <token>]',
  summary: "revoke one of an operator's tokens",
  options: [...connection],
  run: (args, io) =>
    guarded(io, async () => {
      const [name, tokenId, ...extra] = args.positionals;
      if (!name || !tokenId || extra.length > 0) throw new CliInputError('user revoke needs <name> <tokenId>');
      await api({ url: one(args, 'url'), token: one(args, 'token') })('DELETE', `/api/v1/users/${encodeURIComponent(name)}/tokens/${encodeURIComponent(tokenId)}`);
      io.stderr(`token ${tokenId} of ${name} revoked\n`);
      return 0;
    }),
};

const list: Command = {
  path: ['user', 'list'],
  synopsis: 'user list [--url <url>] [--token <token>]',
  summary: 'list operators, roles and tokens (never the tokens themselves)',
  options: [...connection],
  run: (args, io) =>
    guarded(io, async () => {
      if (args.positionals.length > 0) throw new CliInputError(`unexpected argument: ${args.positionals[0]}`);
      const res = await api({ url: one(args, 'url'), token: one(args, 'token') })<{ items: Array<{ name: string; role: string; tokens: Array<{ id: string; revokedAt: string | null; expiresAt: string | null }> }> }>('GET', '/api/v1/users');
      io.stdout(JSON.stringify(res.items, null, 2) + '\n');
      for (const u of res.items) {
        const active = u.tokens.filter((t) => !t.revokedAt).map((t) => `${t.id}${t.expiresAt ? ` (expires ${t.expiresAt})` : ''}`);
        io.stderr(`${u.name.padEnd(20)} ${u.role.padEnd(10)} ${active.join(', ') || 'no active token'}\n`);
      }
      return 0;
    }),
};

/** `tollgate user …` rows for the CLI table. */
export const USER_COMMANDS: readonly Command[] = [add, revoke, list];
