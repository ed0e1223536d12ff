import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { connect } from 'nats';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main as cli } from '../../control-plane/cli/main';
import { createTestDatabase, NATS_URL, requireNats, requirePostgres } from '../support/services';
import { freePort } from '../support/net';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

/** Runs the CLI in-process, capturing its output. */
async function tollgate(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await cli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

const pg = await requirePostgres();
const nats = await requireNats();

const test = suite('governance end to end: Postgres + NATS, HTTP, the CLI');

if (pg && nats) {
  test('ceremony → proposal → 5 members sign with the CLI → the action takes effect → the audit chain verifies', async () => {
    const db = (await createTestDatabase('governance'))!;
    const prefix = `g${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-committee-'));
    const sys = await startTestSystem({ DATABASE_URL: db.url, NATS_URL, TOLLGATE_SUBJECT_PREFIX: prefix, TOLLGATE_NODE_ID: 'gov-node' });
    const port = await freePort();
    const server = serve({ fetch: sys.app.fetch, port, hostname: '127.0.0.1' });
    const url = `http://127.0.0.1:${port}`;
    try {
      const conn = ['--url', url, '--token', BOOTSTRAP_TOKEN];
      // Members make their identity keys; the ceremony gets only the public halves.
      const pubs = [];
      for (let i = 1; i <= 7; i++) {
        const r = await tollgate('committee', 'keygen', '--member', `m${i}`, '--name', `Member ${i}`, '--out', join(dir, 'keys'));
        assert.is(r.code, 0, r.stderr);
        pubs.push(JSON.parse(readFileSync(join(dir, 'keys', `m${i}.pub.json`), 'utf8')));
      }
      writeFileSync(join(dir, 'members.json'), JSON.stringify(pubs));
      const init = await tollgate('committee', 'init', '--members', join(dir, 'members.json'), '--threshold', '5', '--out', join(dir, 'committee'), ...conn);
      assert.is(init.code, 0, init.stderr);
      const ceremony = JSON.parse(init.stdout);
      assert.match(ceremony.audit.hash, /^[0-9a-f]{64}$/);
      assert.match(init.stderr, /audit head [0-9a-f]{64}/);
      assert.not.ok(readFileSync(join(dir, 'committee', 'committee.json'), 'utf8').includes('secret'));

      // Operators, through the CLI.
      const add = await tollgate('user', 'add', 'maria', '--role', 'MANAGER', ...conn);
      assert.is(add.code, 0, add.stderr);
      const maria = JSON.parse(add.stdout);
      assert.match(maria.token, /^tg_/);
      const list = await tollgate('user', 'list', ...conn);
      assert.is(list.code, 0, list.stderr);
      assert.ok(JSON.parse(list.stdout).some((u: { name: string }) => u.name === 'maria'));
      const refused = await tollgate('user', 'add', 'eve', '--role', 'ADMIN', '--url', url, '--token', maria.token);
      assert.is(refused.code, 1);
      assert.match(refused.stderr, /403 FORBIDDEN/);

      const admin = client(sys.app, BOOTSTRAP_TOKEN);
      const manager = client(sys.app, maria.token);
      assert.is((await admin('POST', '/api/v1/tenants', { id: 'orchard', name: 'Orchard', stage: 'PILOT' })).status, 201);
      assert.is((await admin('POST', '/api/v1/tenants/orchard/lock', { reason: 'suspicious rollback' })).status, 200);
      const direct = await admin('DELETE', '/api/v1/tenants/orchard/lock', { justification: 'I am admin' });
      assert.is(direct.status, 403);
      assert.is(direct.body.error.code, 'GOVERNANCE_UNLOCK_REQUIRED');

      const proposal = await manager('POST', '/api/v1/governance/unlocks', { action: 'tenant.forensic-lock.lift', params: { tenantId: 'orchard' }, justification: 'forensics closed, INC-42' });
      assert.is(proposal.status, 201, proposal.text);
      let last = '';
      for (const i of [2, 4, 5, 6, 7]) {
        const r = await tollgate('committee', 'sign-share', '--request', proposal.body.id, '--member', `m${i}`, '--key', join(dir, 'keys', `m${i}.key`), '--share', join(dir, 'committee', 'shares', `m${i}.share.json`), '--url', url, '--token', maria.token);
        assert.is(r.code, 0, r.stderr);
        last = r.stdout;
      }
      assert.is(JSON.parse(last).state, 'UNLOCKED');
      // A sixth member is too late; someone else's share file is refused locally.
      const late = await tollgate('committee', 'sign-share', '--request', proposal.body.id, '--member', 'm1', '--key', join(dir, 'keys', 'm1.key'), '--share', join(dir, 'committee', 'shares', 'm1.share.json'), '--url', url, '--token', maria.token);
      assert.is(late.code, 1);
      assert.match(late.stderr, /UNLOCK_NOT_OPEN/);
      const wrongKey = await tollgate('committee', 'sign-share', '--request', proposal.body.id, '--member', 'm3', '--key', join(dir, 'keys', 'm1.key'), '--share', join(dir, 'committee', 'shares', 'm3.share.json'), '--url', url, '--token', maria.token);
      assert.is(wrongKey.code, 1);
      assert.match(wrongKey.stderr, /sealed to another key/);

      const lifted = await manager('DELETE', '/api/v1/tenants/orchard/lock', { justification: 'committee unlock', unlockId: proposal.body.id });
      assert.is(lifted.status, 200, lifted.text);
      assert.is(lifted.body.forensicLock, false);
      assert.is((await admin('GET', '/api/v1/tenants/orchard')).body.forensicLock, false);

      const verify = await admin('GET', '/api/v1/audit/verify');
      assert.is(verify.status, 200);
      assert.ok(verify.body.ok, verify.text);
      const exported = await admin('GET', '/api/v1/audit/export');
      writeFileSync(join(dir, 'audit.jsonl'), exported.text);
      writeFileSync(join(dir, 'keys.json'), (await admin('GET', '/api/v1/keys')).text);
      const offline = await tollgate('audit', 'verify', join(dir, 'audit.jsonl'), '--public-key', join(dir, 'keys.json'));
      assert.is(offline.code, 0, offline.stderr);
      const actions = exported.text.trim().split('\n').map((l) => JSON.parse(l).action);
      for (const a of ['governance.committee.created', 'governance.unlock.proposed', 'governance.share.accepted', 'governance.unlock.unlocked', 'governance.unlock.consumed', 'tenant.forensic-lock.lifted']) assert.ok(actions.includes(a), a);

      const tokenId = maria.tokenId;
      const revoke = await tollgate('user', 'revoke', 'maria', tokenId, ...conn);
      assert.is(revoke.code, 0, revoke.stderr);
      assert.is((await manager('GET', '/api/v1/tenants')).status, 401);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sys.dispose();
      const nc = await connect({ servers: NATS_URL });
      const jsm = await nc.jetstreamManager();
      for (const name of [`${prefix}_LEARNING`, `${prefix}_ALERTS`]) await jsm.streams.delete(name).catch(() => false);
      await nc.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
