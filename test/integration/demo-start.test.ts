import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEMO_TENANTS } from '../../control-plane/demo/story';

const ROOT = new URL('../..', import.meta.url).pathname;
const DEMO_IDS = DEMO_TENANTS.map((t) => t.id).sort();

interface Node {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  url: string;
}

/** `npm start`'s entry on embedded defaults, listening on a random port of 127.0.0.1. */
async function startNode(dataDir: string, env: Record<string, string> = {}, args: string[] = []): Promise<Node> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'control-plane/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', TOLLGATE_DATA_DIR: dataDir, LOG_LEVEL: 'info', DATABASE_URL: '', NATS_URL: '', REDIS_URLS: '', TOLLGATE_DEMO: '', ...env },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const t0 = Date.now();
  for (;;) {
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) return { child, output: () => out, exited, url: m[1]! };
    if (Date.now() - t0 > 20_000 || child.exitCode !== null) throw new Error(`the node did not listen:\n${out}`);
    await sleep(50);
  }
}

async function stopNode(node: Node): Promise<number | null> {
  node.child.kill('SIGTERM');
  const code = await Promise.race([node.exited, sleep(20_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    node.child.kill('SIGKILL');
    throw new Error(`the node did not exit within 20 s of SIGTERM:\n${node.output().slice(-3000)}`);
  }
  return code;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(deadline: number, what: string, node: Node, check: () => Promise<T | null | undefined | false>): Promise<T> {
  let last: unknown = null;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`not within the time allowed: ${what} (${String(last)})\n${node.output().slice(-4000)}`);
    await sleep(250);
  }
}

async function get(node: Node, path: string, token?: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${node.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The whole audit log, page by page. */
async function auditOf(node: Node, token: string): Promise<Array<{ seq: number; action: string; subject: string }>> {
  const all: Array<{ seq: number; action: string; subject: string }> = [];
  for (let after = 0; ; ) {
    const page = (await get(node, `/api/v1/audit?after=${after}&limit=1000`, token)).body.entries as typeof all;
    all.push(...page);
    if (page.length < 1000) return all;
    after = page[page.length - 1]!.seq;
  }
}

function readCredentials(dataDir: string) {
  return JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as {
    users: Record<'admin' | 'manager' | 'agronomist', { name: string; role: string; token: string }>;
    committee: { committeeId: string; threshold: number; members: Array<{ id: string; keyFile: string; shareFile: string }> };
  };
}

async function tenantIds(node: Node, token: string): Promise<string[]> {
  const res = await get(node, '/api/v1/tenants?limit=100', token);
  assert.is(res.status, 200, JSON.stringify(res.body));
  return (res.body.items as Array<{ id: string }>).map((t) => t.id).sort();
}

const test = suite('demo: npm start on embedded defaults (real process)');
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-demo-'));
let firstCredentials: ReturnType<typeof readCredentials> | null = null;

test.after(() => rmSync(dataDir, { recursive: true, force: true }));

test('within 60 s: /readyz ok, the demo tenants, drift reports and the story\'s first transitions; SIGTERM exits cleanly', async () => {
  const t0 = Date.now();
  const node = await startNode(dataDir, { TOLLGATE_DEMO_SPEED: '2880' });
  const deadline = t0 + 60_000;
  try {
    await until(deadline, '/readyz 200', node, async () => (await get(node, '/readyz')).status === 200);
    const creds = await until(deadline, 'the demo credentials file', node, async () => existsSync(join(dataDir, 'demo-credentials.json')) && readCredentials(dataDir).committee && readCredentials(dataDir));
    firstCredentials = creds;
    const admin = creds.users.admin.token;
    await until(deadline, 'the three demo tenants', node, async () => JSON.stringify(await tenantIds(node, admin)) === JSON.stringify(DEMO_IDS));
    // Drift reports, signed by the node, for the demo history and the days the fast clock closes.
    const drift = await until(deadline, 'a drift report of alder-farms', node, async () => {
      const d = await get(node, '/api/v1/tenants/alder-farms/drift', creds.users.agronomist.token);
      return d.status === 200 && d.body.items.length > 0 && d.body;
    });
    assert.type(drift.items[0].signature, 'string');
    assert.ok(['ok', 'warn', 'critical'].includes(drift.items[0].report.level));
    // A transition the story made on its own: birch-valley's data science team ships v2 into SHADOW at story day 0.5.
    const v2 = await until(deadline, 'birch-valley v2 in SHADOW (or further)', node, async () => {
      const models = (await get(node, '/api/v1/tenants/birch-valley/models', creds.users.agronomist.token)).body.items as Array<{ id: string; label: string; state: string }>;
      return models.find((m) => m.label === 'v2' && ['SHADOW', 'CANARY', 'FAILED'].includes(m.state));
    });
    const actions = (await auditOf(node, admin)).filter((e) => e.subject === `model:${v2.id}`).map((e) => e.action);
    assert.ok(actions.includes('model.transitioned'), `the audit log holds v2's transitions: ${JSON.stringify(actions)}`);
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
    // The story is told in the log, one line per beat.
    assert.match(node.output(), /"beat":"drift\.report"/);
    assert.match(node.output(), /"beat":"candidate\.shipped"/);
    // Credentials: printed once, saved 0600 with the committee's keys and sealed shares.
    for (const u of Object.values(creds.users)) assert.ok(node.output().includes(u.token), `${u.name}'s token printed`);
    assert.is(statSync(join(dataDir, 'demo-credentials.json')).mode & 0o777, 0o600);
    assert.is(creds.committee.members.length, 7);
    assert.is(creds.committee.threshold, 5);
    for (const m of creds.committee.members) {
      assert.is(statSync(join(dataDir, m.keyFile)).mode & 0o777, 0o600);
      assert.is(statSync(join(dataDir, m.shareFile)).mode & 0o777, 0o600);
    }
    const committee = await get(node, '/api/v1/governance/committee', admin);
    assert.is(committee.body.committeeId, creds.committee.committeeId);
    // The roles work as the demo says.
    assert.is((await get(node, '/api/v1/tenants', creds.users.agronomist.token)).status, 200);
  } finally {
    assert.is(await stopNode(node), 0, node.output().slice(-2000));
  }
  assert.match(node.output(), /"msg":"stopped"/);
});

test('a restart reuses the credentials, creates no second tenant or user, and resumes the story', async () => {
  assert.ok(firstCredentials, 'the first test ran');
  const clockBefore = JSON.parse(readFileSync(join(dataDir, 'demo', 'clock.json'), 'utf8')).simulatedNow as string;
  const node = await startNode(dataDir, { TOLLGATE_DEMO_SPEED: '2880' });
  try {
    const deadline = Date.now() + 60_000;
    await until(deadline, '/readyz 200', node, async () => (await get(node, '/readyz')).status === 200);
    await until(deadline, 'the demo resumes', node, async () => /demo: resuming 3 tenants/.test(node.output()));
    const creds = readCredentials(dataDir);
    assert.equal(creds, firstCredentials, 'the credentials file is unchanged');
    assert.not.ok(node.output().includes(creds.users.admin.token), 'tokens are printed only on the first start');
    assert.equal(await tenantIds(node, creds.users.admin.token), DEMO_IDS);
    const users = (await get(node, '/api/v1/users', creds.users.admin.token)).body.items as Array<{ name: string }>;
    for (const name of ['demo-admin', 'demo-manager', 'demo-agronomist']) assert.is(users.filter((u) => u.name === name).length, 1, name);
    const models = (await get(node, '/api/v1/tenants/cedar-ridge/models', creds.users.agronomist.token)).body.items as Array<{ label: string }>;
    assert.equal(models.map((m) => m.label).sort(), ['v1', 'v2'], 'no second seed');
    // The demo clock went on from where it stopped: never backwards.
    const d = await get(node, '/api/v1/tenants/alder-farms/drift', creds.users.agronomist.token);
    assert.ok(d.body.items[0].day >= clockBefore.slice(0, 10) || d.body.items[0].day >= addDays(clockBefore.slice(0, 10), -1));
    assert.ok(readdirSync(join(dataDir, 'demo', 'committee', 'shares')).length === 7, 'no second committee');
  } finally {
    assert.is(await stopNode(node), 0, node.output().slice(-2000));
  }
  const clockAfter = JSON.parse(readFileSync(join(dataDir, 'demo', 'clock.json'), 'utf8')).simulatedNow as string;
  assert.ok(clockAfter > clockBefore, `the demo clock resumed forward (${clockBefore} → ${clockAfter})`);
});

test('TOLLGATE_DEMO_SIMULATOR=0: the node seeds the demo; `tollgate demo` plays its data plane over HTTP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-demo-cli-'));
  const node = await startNode(dir, { TOLLGATE_DEMO_SIMULATOR: '0', TOLLGATE_DEMO_SPEED: '2880' });
  try {
    const deadline = Date.now() + 60_000;
    await until(deadline, 'the demo seeded without its simulator', node, async () => /the simulator is off/.test(node.output()));
    const creds = readCredentials(dir);
    assert.equal(await tenantIds(node, creds.users.admin.token), DEMO_IDS);
    assert.is((await get(node, '/api/v1/tenants/alder-farms/drift', creds.users.agronomist.token)).body.items.length, 0, 'no traffic, no history');
    const clock = (await get(node, '/api/v1/clock', creds.users.agronomist.token)).body;
    assert.is(clock.speed, 2880);
    const cli = spawn(process.execPath, ['bin/tollgate.mjs', 'demo', '--url', node.url, '--token', creds.users.admin.token, '--seconds', '6'], { cwd: ROOT });
    let out = '';
    let err = '';
    cli.stdout.on('data', (d) => (out += d));
    cli.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => cli.on('exit', resolve));
    assert.is(code, 0, err);
    assert.ok(Number(/after posting (\d+) learning events/.exec(err)?.[1]) > 0, err);
    assert.match(out, /"beat":"demo\.resume"/);
    // The node's drift window saw the CLI's forecasts (open days, or days already closed into reports).
    const drift = (await get(node, '/api/v1/tenants/alder-farms/drift', creds.users.agronomist.token)).body;
    const seen = Object.values(drift.window.open as Record<string, { n: number }>).reduce((a, d) => a + d.n, 0) + drift.items.length;
    assert.ok(seen > 0, JSON.stringify(drift.window));
    assert.not.match(node.output(), /"beat":"candidate\.shipped"/, 'the node itself sent nothing');
  } finally {
    assert.is(await stopNode(node), 0, node.output().slice(-2000));
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [name, env, args] of [
  ['TOLLGATE_DEMO=0', { TOLLGATE_DEMO: '0' }, []],
  ['npm start -- --no-demo', {}, ['--no-demo']],
] as const) {
  test(`${name} starts clean: no demo tenants, users or credentials`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-nodemo-'));
    const node = await startNode(dir, env, [...args]);
    try {
      const deadline = Date.now() + 45_000;
      await until(deadline, '/readyz 200', node, async () => (await get(node, '/readyz')).status === 200);
      const admin = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
      await sleep(1_000);
      assert.equal(await tenantIds(node, admin), []);
      const users = (await get(node, '/api/v1/users', admin)).body.items as Array<{ name: string }>;
      assert.equal(users.map((u) => u.name), ['admin']);
      assert.not.ok(existsSync(join(dir, 'demo-credentials.json')));
      assert.not.ok(existsSync(join(dir, 'demo')), 'no demo clock either');
      assert.not.match(node.output(), /"component":"demo"/);
    } finally {
      assert.is(await stopNode(node), 0, node.output().slice(-2000));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

test.run();
