import { mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestSystem } from '../../test/support/system';
import { inProcessCall } from './api';
import { credentialsPath, ensureDemoCredentials, readCredentials } from './credentials';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;
const test = suite<{ sys: Sys; dir: string }>('demo: credentials and committee', {} as { sys: Sys; dir: string });

test.before(async (ctx) => {
  ctx.sys = await startTestSystem();
  ctx.dir = mkdtempSync(join(tmpdir(), 'tg-demo-creds-'));
});
test.after(async (ctx) => {
  await ctx.sys.dispose();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const ensure = (ctx: { sys: Sys; dir: string }) => ensureDemoCredentials({ dataDir: ctx.dir, identity: ctx.sys.identity, call: inProcessCall(ctx.sys.app), now: () => ctx.sys.clock.now() });

test('created once: a user per role, a 5-of-7 committee installed, every secret 0600; read back afterwards', async (ctx) => {
  const first = await ensure(ctx);
  assert.is(first.created, true);
  const c = first.credentials;
  assert.equal(Object.values(c.users).map((u) => [u.name, u.role]), [['demo-admin', 'ADMIN'], ['demo-manager', 'MANAGER'], ['demo-agronomist', 'AGRONOMIST']]);
  assert.is(statSync(credentialsPath(ctx.dir)).mode & 0o777, 0o600);
  for (const m of c.committee!.members) {
    assert.is(statSync(join(ctx.dir, m.keyFile)).mode & 0o777, 0o600);
    assert.is(statSync(join(ctx.dir, m.shareFile)).mode & 0o777, 0o600);
  }
  const call = inProcessCall(ctx.sys.app);
  const committee = await call('GET', '/api/v1/governance/committee', undefined, c.users.agronomist.token);
  assert.is(committee.body.committeeId, c.committee!.committeeId);
  assert.is(committee.body.threshold, 5);
  assert.is(committee.body.members.length, 7);
  assert.is((await call('GET', '/api/v1/users', undefined, c.users.admin.token)).status, 200, 'the admin token works');
  assert.is((await call('GET', '/api/v1/users', undefined, c.users.manager.token)).status, 403, 'the manager is no admin');

  const again = await ensure(ctx);
  assert.is(again.created, false);
  assert.equal(again.credentials, c);
});

test('a credentials file whose tokens this database does not know: a clear error, nothing created', async (ctx) => {
  const saved = readCredentials(ctx.dir)!;
  const stale = { ...saved, users: { ...saved.users, admin: { ...saved.users.admin, token: 'tg_unknown-token-of-another-database' } } };
  writeFileSync(credentialsPath(ctx.dir), JSON.stringify(stale));
  try {
    await ensure(ctx);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.match((err as Error).message, /unknown to this database.*delete .*demo-credentials\.json/);
  }
  writeFileSync(credentialsPath(ctx.dir), JSON.stringify(saved));
});

test('demo users without their credentials file: a clear error instead of a second set', async (ctx) => {
  unlinkSync(credentialsPath(ctx.dir));
  try {
    await ensure(ctx);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.match((err as Error).message, /demo user demo-admin exists but .*demo-credentials\.json.* is gone/);
  }
  const users = (await inProcessCall(ctx.sys.app)('GET', '/api/v1/users', undefined, 'test-bootstrap-token-0123456789')).body.items as Array<{ name: string }>;
  assert.is(users.filter((u) => u.name.startsWith('demo-')).length, 3);
});

test.run();
