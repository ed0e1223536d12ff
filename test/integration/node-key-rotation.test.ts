import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../control-plane/config';
import { ManualClock } from '../../control-plane/ports/clock';
import { buildSystem } from '../../control-plane/system';
import { realServicesEnv } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';

type Call = ReturnType<typeof client>;
import { grantUnlock, installTestCommittee, type TestCommittee } from '../support/governance';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;

/** The rotation contract, on the embedded defaults and on Postgres + NATS. */
function rotationSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  const test = suite<{ sys: Sys; admin: Call; manager: Call; committee: TestCommittee; cleanup(): Promise<void> }>(name);

  test.before(async (ctx) => {
    const e = await env();
    ctx.cleanup = e.cleanup;
    ctx.sys = await startTestSystem(e.env);
    ctx.admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
    const made = await ctx.admin('POST', '/api/v1/users', { name: 'mia', role: 'MANAGER' });
    ctx.manager = client(ctx.sys.app, made.body.token);
  });
  test.after(async (ctx) => {
    await ctx.sys.dispose();
    await ctx.cleanup();
  });

  test('without a committee the rotation is governance-locked, refused and audited; the key stays', async ({ sys, admin }) => {
    const before = (await admin('GET', '/api/v1/keys/current')).body.kid;
    const res = await admin('POST', '/api/v1/keys/rotate', { kid: before, justification: 'quarterly rotation' });
    assert.is(res.status, 403, res.text);
    assert.is(res.body.error.code, 'GOVERNANCE_UNLOCK_REQUIRED');
    assert.match(res.body.error.message, /committee/);
    assert.is((await admin('GET', '/api/v1/keys/current')).body.kid, before);
    await sys.audit.flush();
    const audit = (await admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; payload: { action?: string } }>;
    assert.ok(audit.some((e) => e.action === 'governance.gate.refused' && e.payload.action === 'node-key.rotate'));
  });

  test('bad input: malformed, wrong shape, wrong role, unknown fields, no token', async ({ sys, admin, manager }) => {
    const kid = (await admin('GET', '/api/v1/keys/current')).body.kid;
    const bad = await admin('POST', '/api/v1/keys/rotate', '{"kid":');
    assert.is(bad.status, 400);
    assert.match(bad.body.error.message, /malformed JSON/);
    assert.is((await admin('POST', '/api/v1/keys/rotate', { kid: 'short', justification: 'x' })).status, 400);
    assert.is((await admin('POST', '/api/v1/keys/rotate', { kid, justification: '' })).status, 400);
    assert.is((await admin('POST', '/api/v1/keys/rotate', { kid, justification: 'x', extra: 1 })).status, 400);
    const mgr = await manager('POST', '/api/v1/keys/rotate', { kid, justification: 'x' });
    assert.is(mgr.status, 403);
    assert.is(mgr.body.error.code, 'FORBIDDEN');
    const anonymous = await client(sys.app)('POST', '/api/v1/keys/rotate', { kid, justification: 'x' });
    assert.is(anonymous.status, 401);
  });

  test('with an unlock for this kid: new key in use, old one still listed, chain verifies, unlock single-use', async (ctx) => {
    const { sys, admin, manager } = ctx;
    ctx.committee = await installTestCommittee(admin);
    const old = (await admin('GET', '/api/v1/keys/current')).body;
    // A proposal naming a malformed kid is refused up front.
    const badProposal = await manager('POST', '/api/v1/governance/unlocks', { action: 'node-key.rotate', params: { kid: 'nope' }, justification: 'x' });
    assert.is(badProposal.status, 400);
    assert.match(badProposal.text, /key id/);

    const unlockId = await grantUnlock(manager, ctx.committee, 'node-key.rotate', { kid: old.kid });
    // A MANAGER holding the unlock is still not an ADMIN.
    assert.is((await manager('POST', '/api/v1/keys/rotate', { kid: old.kid, justification: 'x', unlockId })).status, 403);
    const res = await admin('POST', '/api/v1/keys/rotate', { kid: old.kid, justification: 'quarterly rotation', unlockId });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.previousKid, old.kid);
    assert.is.not(res.body.kid, old.kid);
    assert.is(res.body.alg, 'EdDSA');
    const now = (await admin('GET', '/api/v1/keys/current')).body;
    assert.is(now.kid, res.body.kid);
    assert.equal(now.publicKeyJwk, res.body.publicKeyJwk);
    const listed = ((await admin('GET', '/api/v1/keys')).body.keys as Array<{ kid: string }>).map((k) => k.kid);
    assert.ok(listed.includes(old.kid) && listed.includes(now.kid), 'both keys stay published');

    // New entries are signed with the new key; the whole chain (both keys) verifies.
    await admin('POST', '/api/v1/tenants', { id: 'after-rotation', name: 'After' });
    await sys.audit.flush();
    const entries = (await admin('GET', '/api/v1/audit?limit=1000')).body.entries as Array<{ action: string; kid: string; payload: Record<string, unknown> }>;
    const rotated = entries.find((e) => e.action === 'node-key.rotated');
    assert.ok(rotated);
    assert.equal([rotated!.payload.previousKid, rotated!.payload.kid, rotated!.payload.unlockId], [old.kid, now.kid, unlockId]);
    assert.is(entries.find((e) => e.action === 'tenant.created' && JSON.stringify(e.payload).includes('after-rotation'))!.kid, now.kid);
    assert.ok(entries.some((e) => e.kid === old.kid), 'earlier entries keep the old kid');
    const verify = await admin('GET', '/api/v1/audit/verify');
    assert.is(verify.body.ok, true, verify.text);

    // The same unlock again, and an unlock naming a key this node no longer uses.
    const again = await admin('POST', '/api/v1/keys/rotate', { kid: now.kid, justification: 'again', unlockId });
    assert.is(again.status, 403);
    assert.is(again.body.error.code, 'GOVERNANCE_UNLOCK_INVALID');
    const stale = await admin('POST', '/api/v1/keys/rotate', { kid: old.kid, justification: 'stale', unlockId });
    assert.is(stale.status, 409);
    assert.is(stale.body.error.code, 'REVISION_CONFLICT');
    assert.match(stale.body.error.message, new RegExp(now.kid));
    assert.is((await admin('GET', '/api/v1/keys/current')).body.kid, now.kid);
  });

  return test;
}

rotationSuite('node key rotation (embedded)', async () => ({ env: {}, cleanup: async () => undefined })).run();
rotationSuite('node key rotation (postgres + nats)', () => realServicesEnv('keyrot')).run();

const onDisk = suite('node key rotation persists the key file');

onDisk('the rotated key replaces the key file and is the one loaded at the next start', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-keyrot-'));
  const config = parseConfig({ TOLLGATE_DATA_DIR: dataDir, TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: BOOTSTRAP_TOKEN, TOLLGATE_DEMO: '0' });
  const start = () => buildSystem(config, { clock: new ManualClock(Date.now()), log: pino({ level: 'silent' }), embeddedDir: join(dataDir, 'pgdata') });
  try {
    let sys = await start();
    let admin = client(sys.app, BOOTSTRAP_TOKEN);
    const committee = await installTestCommittee(admin);
    const keyFile = join(config.keyDir, 'signing-ed25519.pem');
    const oldPem = readFileSync(keyFile, 'utf8');
    const old = sys.signer.kid;
    const unlockId = await grantUnlock(admin, committee, 'node-key.rotate', { kid: old });
    const res = await admin('POST', '/api/v1/keys/rotate', { kid: old, justification: 'rotation', unlockId });
    assert.is(res.status, 200, res.text);
    assert.is.not(readFileSync(keyFile, 'utf8'), oldPem, 'the old private key is gone from disk');
    assert.not.ok(existsSync(`${keyFile}.next`));
    await sys.close();

    sys = await start();
    admin = client(sys.app, BOOTSTRAP_TOKEN);
    assert.is((await admin('GET', '/api/v1/keys/current')).body.kid, res.body.kid);
    assert.is((await admin('GET', '/api/v1/audit/verify')).body.ok, true);
    await sys.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

onDisk.run();
