import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from './main';
import { openShare, fromBase64Url } from '../governance/share-crypto';
import { verifyCommitteeProof } from '../governance/ceremony';

async function tollgate(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

const test = suite<{ dir: string }>('cli: committee and user commands', { dir: '' });
test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-committee-'));
});
test.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

test('keygen writes a 0600 secret and a public file; refuses to overwrite', async (ctx) => {
  const r = await tollgate('committee', 'keygen', '--member', 'ada', '--name', 'Ada L.', '--out', join(ctx.dir, 'keys'));
  assert.is(r.code, 0, r.stderr);
  const pub = JSON.parse(readFileSync(join(ctx.dir, 'keys', 'ada.pub.json'), 'utf8'));
  assert.is(pub.name, 'Ada L.');
  assert.is(statSync(join(ctx.dir, 'keys', 'ada.key')).mode & 0o777, 0o600);
  assert.is(fromBase64Url(readFileSync(join(ctx.dir, 'keys', 'ada.key'), 'utf8').trim()).length, 32);
  const again = await tollgate('committee', 'keygen', '--member', 'ada', '--out', join(ctx.dir, 'keys'));
  assert.is(again.code, 2);
  assert.match(again.stderr, /not overwriting/);
  assert.is((await tollgate('committee', 'keygen', '--member', 'Bad Id')).code, 2);
});

test('init --offline: sealed shares each member opens with their key; the public file holds no secret', async (ctx) => {
  const pubs = [];
  for (const m of ['m1', 'm2', 'm3']) {
    assert.is((await tollgate('committee', 'keygen', '--member', m, '--out', join(ctx.dir, 'k3'))).code, 0);
    pubs.push(JSON.parse(readFileSync(join(ctx.dir, 'k3', `${m}.pub.json`), 'utf8')));
  }
  writeFileSync(join(ctx.dir, 'members.json'), JSON.stringify({ members: pubs }));
  const r = await tollgate('committee', 'init', '--members', join(ctx.dir, 'members.json'), '--threshold', '2', '--out', join(ctx.dir, 'c'), '--offline');
  assert.is(r.code, 0, r.stderr);
  assert.match(JSON.parse(r.stdout).digest, /^[0-9a-f]{64}$/);
  const committee = JSON.parse(readFileSync(join(ctx.dir, 'c', 'committee.json'), 'utf8'));
  assert.ok(verifyCommitteeProof(committee));
  for (const m of ['m1', 'm2', 'm3']) {
    const file = JSON.parse(readFileSync(join(ctx.dir, 'c', 'shares', `${m}.share.json`), 'utf8'));
    assert.is(statSync(join(ctx.dir, 'c', 'shares', `${m}.share.json`)).mode & 0o777, 0o600);
    const key = fromBase64Url(readFileSync(join(ctx.dir, 'k3', `${m}.key`), 'utf8').trim());
    assert.is(openShare(file, key).length, 33);
  }
});

test('usage and input errors exit 2 naming the problem', async (ctx) => {
  const cases: Array<[string[], RegExp]> = [
    [['committee', 'init'], /missing --members/],
    [['committee', 'init', '--members', join(ctx.dir, 'nope.json')], /cannot read members file/],
    [['committee', 'init', '--members', join(ctx.dir, 'members.json'), '--threshold', 'five'], /--threshold must be a whole number/],
    [['committee', 'init', '--members', join(ctx.dir, 'members.json'), '--threshold', '4', '--offline'], /threshold must be an integer in 2\.\.3/],
    [['committee', 'sign-share', '--request', 'x', '--member', 'm1', '--key', 'k', '--share', join(ctx.dir, 'members.json')], /not a tollgate sealed share/],
    [['committee', 'sign-share', '--request', 'x', '--member', 'm2', '--key', join(ctx.dir, 'k3', 'm2.key'), '--share', join(ctx.dir, 'c', 'shares', 'm1.share.json')], /belongs to m1, not m2/],
    [['user', 'add'], /exactly one <name>/],
    [['user', 'add', 'x', '--role', 'ADMIN', '--expires-in-days', 'soon'], /whole number/],
    [['user', 'revoke', 'x'], /<name> <tokenId>/],
  ];
  for (const [argv, why] of cases) {
    const r = await tollgate(...argv);
    assert.is(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why, argv.join(' '));
  }
  writeFileSync(join(ctx.dir, 'bad-members.json'), '{"people": []}');
  assert.match((await tollgate('committee', 'init', '--members', join(ctx.dir, 'bad-members.json'))).stderr, /JSON array/);
});

test('sign-share refuses to sign when the node shows an action that is not the hashed one', async (ctx) => {
  const { createServer } = await import('node:http');
  let posted = false;
  const server = createServer((req, res) => {
    if (req.method === 'POST') posted = true;
    res.setHeader('content-type', 'application/json');
    // Shows a harmless action, asks for a signature over another action's hash.
    res.end(JSON.stringify({ id: 'r1', action: 'tenant.forensic-lock.lift', params: { tenantId: 'demo' }, justification: 'x', actionHash: 'f'.repeat(64), nonce: 'n', proposedBy: 'eve', state: 'PENDING' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const r = await tollgate('committee', 'sign-share', '--request', 'r1', '--member', 'm1', '--key', join(ctx.dir, 'k3', 'm1.key'), '--share', join(ctx.dir, 'c', 'shares', 'm1.share.json'), '--url', `http://127.0.0.1:${port}`, '--token', 't');
    assert.is(r.code, 1);
    assert.match(r.stderr, /NOT signing/);
    assert.not.ok(posted, 'nothing was submitted');
  } finally {
    server.close();
  }
});

test('an unreachable node is a clear failure (exit 1)', async () => {
  const r = await tollgate('user', 'list', '--url', 'http://127.0.0.1:9', '--token', 'x');
  assert.is(r.code, 1);
  assert.match(r.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
});

test.run();
