import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, request, type Agent, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { Socket } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mintPartnerToken } from '../../control-plane/oracle/mint-token';
import { httpServerOptions } from '../../gateway/server-limits';
import { freePort } from '../support/net';
import { createTestDatabase, REDIS_URL, requirePostgres, requireRedis } from '../support/services';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from '../support/system';
import { TcpProxy } from '../support/tcp-proxy';

/*
 * Hostile requests against the real listening server (node:http via
 * @hono/node-server, the production server options with short timeouts),
 * real Postgres and real Redis (through a proxy the test can cut). Each case
 * asserts the status, the error code, that nothing changed (no jti stored,
 * exposure untouched) and the refusal counter in /metrics.
 */
type Sys = Awaited<ReturnType<typeof startTestSystem>>;
interface Ctx {
  sys: Sys;
  server: ServerType;
  port: number;
  proxy: TcpProxy;
  redis: Redis;
  prefix: string;
  drop: () => Promise<void>;
  trap: { hits: number; close: () => void; url: string };
}

const AUD = 'tollgate-oracle';
const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ed25519');
const jwkOf = (k: typeof ed.publicKey) => {
  const j = k.export({ format: 'jwk' }) as Record<string, string>;
  return j.kty === 'OKP' ? { kty: 'OKP', crv: 'Ed25519', x: j.x } : { kty: 'EC', crv: 'P-256', x: j.x, y: j.y };
};

const available = (await requirePostgres()) && (await requireRedis());
const test = suite<Ctx>('oracle: hostile requests on the wire', {} as Ctx);

test.before(async (ctx) => {
  const created = await createTestDatabase('oracle_hostile');
  if (!created) throw new Error('postgres vanished');
  ctx.drop = created.drop;
  ctx.proxy = new TcpProxy(await freePort(), Number(new URL(REDIS_URL).port || 6379));
  await ctx.proxy.up();
  ctx.prefix = `oh${randomBytes(4).toString('hex')}`;
  ctx.sys = await startTestSystem({ DATABASE_URL: created.url, REDIS_URLS: `redis://127.0.0.1:${ctx.proxy.port}`, TOLLGATE_SUBJECT_PREFIX: ctx.prefix });
  ctx.redis = new Redis(REDIS_URL);
  ctx.port = await freePort();
  ctx.server = serve({ fetch: ctx.sys.app.fetch, port: ctx.port, hostname: '127.0.0.1', serverOptions: httpServerOptions({ headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS }) });
  await new Promise<void>((resolve) => ctx.server.once('listening', () => resolve()));
  // A key server that must never be called (jku / x5u).
  let hits = 0;
  const trap = createHttpServer((_req, res) => {
    hits++;
    res.end('{}');
  }).listen(0, '127.0.0.1');
  await new Promise<void>((r) => trap.once('listening', () => r()));
  ctx.trap = { get hits() { return hits; }, close: () => trap.close(), url: `http://127.0.0.1:${(trap.address() as { port: number }).port}/keys` };

  const admin = client(ctx.sys.app, BOOTSTRAP_TOKEN);
  for (const [id, key, internal] of [['acme', ed.publicKey, true], ['ecorp', ec.publicKey, true], ['burst', ed.publicKey, true], ['outsider', ed.publicKey, false]] as const) {
    const r = await admin('POST', '/api/v1/partners', { id, publicKeyJwk: jwkOf(key), internal });
    assert.is(r.status, 201, r.text);
  }
  assert.is((await admin('POST', '/api/v1/tenants', { id: 'farm', name: 'Farm' })).status, 201);
  assert.is((await admin('PUT', '/api/v1/oracle/exposure', { stage: 'DARK_LAUNCH' })).status, 200);
});

test.after(async (ctx) => {
  ctx.trap?.close();
  await new Promise<void>((r) => ctx.server?.close(() => r()));
  await ctx.sys?.dispose();
  const keys = await ctx.redis.keys(`${ctx.prefix}:*`);
  if (keys.length) await ctx.redis.del(...keys);
  ctx.redis?.disconnect();
  await ctx.proxy?.down();
  await ctx.drop?.();
});

// ------------------------------------------------------------------ helpers

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A keep-alive agent for one burst (the server closes idle sockets; a shared agent would race that). */
const burstAgent = () => new HttpAgent({ keepAlive: true, maxSockets: 64 });

function http(ctx: Ctx, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer, agent: Agent | false = false): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ctx.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const nowS = (ctx: Ctx) => Math.floor(ctx.sys.clock.now().getTime() / 1000);
const mint = (ctx: Ctx, o: Partial<Parameters<typeof mintPartnerToken>[0]> = {}) =>
  mintPartnerToken({ partnerId: 'acme', audience: AUD, privateKey: ed.privateKey, now: nowS(ctx), ...o });
const snapshot = (ctx: Ctx, token: string, agent: Agent | false = false) => http(ctx, 'GET', '/oracle/v1/tenants/farm/snapshot', { authorization: `Bearer ${token}` }, undefined, agent);

async function counter(ctx: Ctx, partner: string, reason: string): Promise<number> {
  const text = (await http(ctx, 'GET', '/metrics')).text;
  const m = new RegExp(`^tollgate_oracle_refusals_total\\{partner="${partner}",reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function jtiKeys(ctx: Ctx): Promise<number> {
  return (await ctx.redis.keys(`${ctx.prefix}:oracle:jti:*`)).length;
}

/** Sends `send()`, expects one refusal: status, code, counter +1, no jti stored, exposure untouched. */
async function refused(ctx: Ctx, send: () => Promise<Res>, status: number, code: string, partner = 'acme'): Promise<Res> {
  const before = { count: await counter(ctx, partner, code), jtis: await jtiKeys(ctx), exposure: ctx.sys.oracle.exposure.current().revision };
  const res = await send();
  assert.is(res.status, status, res.text);
  assert.is(res.body?.error?.code, code, res.text);
  assert.not.match(res.text, /BEGIN|PRIVATE/);
  assert.is(await counter(ctx, partner, code), before.count + 1, `counter ${partner}/${code}`);
  // Only the checks after the jti claim (replay itself, the rate limit) leave a jti behind.
  if (code !== 'JTI_REPLAYED' && code !== 'RATE_LIMITED') assert.is(await jtiKeys(ctx), before.jtis, 'no jti stored');
  assert.is(ctx.sys.oracle.exposure.current().revision, before.exposure, 'exposure unchanged');
  return res;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const claims = (ctx: Ctx, extra: Record<string, unknown> = {}) => ({ iss: 'acme', aud: AUD, iat: nowS(ctx), exp: nowS(ctx) + 60, jti: randomUUID(), ...extra });

/** Writes raw bytes on a fresh connection; resolves with what came back and when it closed. */
function rawExchange(ctx: Ctx, chunks: Array<string | Buffer>, gapMs = 0, maxMs = 8_000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const t0 = Date.now();
    let text = '';
    let timer: NodeJS.Timeout | null = null;
    const finish = () => {
      if (timer) clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - t0 });
    };
    const hard = setTimeout(() => sock.destroy(), maxMs);
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(hard);
      finish();
    });
    sock.connect(ctx.port, '127.0.0.1', () => {
      let i = 0;
      const next = () => {
        if (sock.destroyed || i >= chunks.length) return;
        sock.write(chunks[i++]!, () => undefined);
        if (gapMs > 0) timer = setTimeout(next, gapMs);
        else setImmediate(next);
      };
      next();
    });
  });
}

// ------------------------------------------------------------------ tests

test('a valid token is served (the baseline every refusal differs from)', async (ctx) => {
  const res = await snapshot(ctx, mint(ctx));
  assert.is(res.status, 200, res.text);
  assert.is(res.body.tenantId, 'farm');
  assert.match(String(res.headers['tollgate-signature']), /^kid=/);
});

test('alg none / noNE / HS256 signed with the public key → 401 JWT_ALG_NOT_ALLOWED', async (ctx) => {
  for (const alg of ['none', 'noNE']) {
    const token = `${b64({ alg, typ: 'oracle+jwt', kid: 'acme' })}.${b64(claims(ctx))}.`;
    // An empty third part is not a compact JWS here: refused as malformed before the header is read.
    await refused(ctx, () => snapshot(ctx, token), 401, 'JWT_MALFORMED', 'unknown');
    await refused(ctx, () => snapshot(ctx, `${token}c2ln`), 401, 'JWT_ALG_NOT_ALLOWED', 'unknown');
  }
  const input = `${b64({ alg: 'HS256', typ: 'oracle+jwt', kid: 'acme' })}.${b64(claims(ctx))}`;
  const secret = ed.publicKey.export({ format: 'pem', type: 'spki' });
  await refused(ctx, () => snapshot(ctx, `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`), 401, 'JWT_ALG_NOT_ALLOWED', 'unknown');
});

test('alg/kid mismatch, unknown / injection-shaped / huge kid', async (ctx) => {
  await refused(ctx, () => snapshot(ctx, mint(ctx, { privateKey: ec.privateKey })), 401, 'JWT_KID_ALG_MISMATCH');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { header: { kid: "acme' OR 1=1; --" } })), 401, 'JWT_UNKNOWN_KID', 'unknown');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { header: { kid: '__proto__' } })), 401, 'JWT_UNKNOWN_KID', 'unknown');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { header: { kid: 'k'.repeat(300) } })), 401, 'JWT_UNKNOWN_KID', 'unknown');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { header: { kid: 'k'.repeat(5_000) } })), 401, 'JWT_MALFORMED', 'unknown');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { privateKey: stranger.privateKey })), 401, 'JWT_BAD_SIGNATURE');
});

test('jku / x5u / jwk headers → 401 JWT_FORBIDDEN_HEADER and zero outbound requests', async (ctx) => {
  for (const header of [{ jku: ctx.trap.url }, { x5u: ctx.trap.url }, { jwk: jwkOf(stranger.publicKey) }]) {
    await refused(ctx, () => snapshot(ctx, mint(ctx, { header })), 401, 'JWT_FORBIDDEN_HEADER', 'unknown');
  }
  assert.is(ctx.trap.hits, 0);
});

test('time: expired, nbf / iat beyond +300 s refused; just inside 300 s accepted', async (ctx) => {
  const t = nowS(ctx);
  await refused(ctx, () => snapshot(ctx, mint(ctx, { claims: { iat: t - 600, exp: t - 301 } })), 401, 'JWT_EXPIRED');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { claims: { nbf: t + 301 } })), 401, 'JWT_NOT_YET_VALID');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { claims: { iat: t + 301, exp: t + 400 } })), 401, 'JWT_ISSUED_IN_FUTURE');
  for (const c of [{ iat: t - 600, exp: t - 299 }, { nbf: t + 299 }, { iat: t + 299, exp: t + 400 }]) {
    const res = await snapshot(ctx, mint(ctx, { claims: c }));
    assert.is(res.status, 200, `${JSON.stringify(c)}: ${res.text}`);
  }
});

test('missing or wrong aud / iss / typ', async (ctx) => {
  await refused(ctx, () => snapshot(ctx, mint(ctx, { claims: { aud: 'another-oracle' } })), 401, 'JWT_BAD_AUDIENCE');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { claims: { aud: undefined } })), 401, 'JWT_MISSING_CLAIM');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { claims: { iss: 'ecorp' } })), 401, 'JWT_BAD_ISSUER');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { claims: { iss: undefined } })), 401, 'JWT_MISSING_CLAIM');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { header: { typ: 'JWT' } })), 401, 'JWT_BAD_TYP', 'unknown');
  await refused(ctx, () => snapshot(ctx, mint(ctx, { header: { typ: undefined } })), 401, 'JWT_BAD_TYP', 'unknown');
});

test('non-base64url characters and a JSON-serialized JWS → 401 JWT_MALFORMED; no header → JWT_MISSING', async (ctx) => {
  const good = mint(ctx);
  await refused(ctx, () => snapshot(ctx, `${good.slice(0, 20)}+/${good.slice(22)}`), 401, 'JWT_MALFORMED', 'unknown');
  await refused(ctx, () => snapshot(ctx, `${good}==`), 401, 'JWT_MALFORMED', 'unknown');
  const [p, pl, s] = good.split('.');
  await refused(ctx, () => snapshot(ctx, JSON.stringify({ protected: p, payload: pl, signature: s })), 401, 'JWT_MALFORMED', 'unknown');
  await refused(ctx, () => http(ctx, 'GET', '/oracle/v1/tenants/farm/snapshot'), 401, 'JWT_MISSING', 'unknown');
  // None of those burnt the good token.
  assert.is((await snapshot(ctx, good)).status, 200);
});

test('replay: sequential copy → 401 JTI_REPLAYED; 50 concurrent copies → exactly one success', async (ctx) => {
  const token = mint(ctx);
  assert.is((await snapshot(ctx, token)).status, 200);
  await refused(ctx, () => snapshot(ctx, token), 401, 'JTI_REPLAYED');
  const fresh = mint(ctx);
  const before = await counter(ctx, 'acme', 'JTI_REPLAYED');
  const agent = burstAgent();
  const results = await Promise.all(Array.from({ length: 50 }, () => snapshot(ctx, fresh, agent)));
  agent.destroy();
  assert.is(results.filter((r) => r.status === 200).length, 1);
  assert.ok(results.filter((r) => r.status !== 200).every((r) => r.status === 401 && r.body.error.code === 'JTI_REPLAYED'));
  assert.is(await counter(ctx, 'acme', 'JTI_REPLAYED'), before + 49);
});

test('a partner not admitted at this stage → 403 ORACLE_NOT_EXPOSED, token not burnt', async (ctx) => {
  const token = mint(ctx, { partnerId: 'outsider' });
  await refused(ctx, () => snapshot(ctx, token), 403, 'ORACLE_NOT_EXPOSED', 'outsider');
});

test('Redis down → 503 REPLAY_CACHE_UNAVAILABLE (fail closed); back up → served again', async (ctx) => {
  await ctx.proxy.down();
  try {
    const token = mint(ctx);
    const t0 = performance.now();
    const res = await refused(ctx, () => snapshot(ctx, token), 503, 'REPLAY_CACHE_UNAVAILABLE');
    assert.ok(performance.now() - t0 < 2_000, 'fails fast');
    assert.is(res.status, 503);
  } finally {
    await ctx.proxy.up();
  }
  for (let i = 0; ; i++) {
    const res = await snapshot(ctx, mint(ctx));
    if (res.status === 200) break;
    if (i > 50) assert.unreachable(`still ${res.status} after Redis came back: ${res.text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

test('body 256 KB + 1 (Content-Length) → 413 before any handler; the token is not burnt', async (ctx) => {
  const token = mint(ctx);
  const body = Buffer.alloc(256 * 1024 + 1, 0x20);
  const jtis = await jtiKeys(ctx);
  const res = await http(ctx, 'POST', '/oracle/v1/snapshots:batch', { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(body.length) }, body);
  assert.is(res.status, 413, res.text);
  assert.is(res.body.error.code, 'PAYLOAD_TOO_LARGE');
  assert.is(await jtiKeys(ctx), jtis);
  assert.is((await http(ctx, 'POST', '/oracle/v1/snapshots:batch', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, '{"tenantIds":["farm"]}')).status, 200);
});

test('chunked 300 KB body → 413; Content-Length with Transfer-Encoding → 400 from the parser; a lying Content-Length cannot smuggle', async (ctx) => {
  const token = mint(ctx);
  const head = `POST /oracle/v1/snapshots:batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n`;
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  const chunks: Array<string | Buffer> = [`${head}Transfer-Encoding: chunked\r\n\r\n`];
  for (let sent = 0; sent < 300 * 1024; sent += chunk.length) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
  chunks.push('0\r\n\r\n');
  const chunked = await rawExchange(ctx, chunks);
  assert.match(chunked.text, /^HTTP\/1\.1 413/);
  assert.match(chunked.text, /PAYLOAD_TOO_LARGE/);

  const both = await rawExchange(ctx, [`${head}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`]);
  assert.match(both.text, /^HTTP\/1\.1 400/);
  assert.not.match(both.text, /HTTP\/1\.1 200/);

  // Content-Length says 22, the client sends 300 KB more: a handler sees at most those 22 bytes;
  // the rest is parsed as a next request, refused by the parser (400), and the connection closed.
  const lying = await rawExchange(ctx, [`${head}Content-Length: 22\r\n\r\n{"tenantIds":["farm"]}`, Buffer.alloc(300 * 1024, 0x41)]);
  const statuses = [...lying.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.ok(statuses.includes('400'), lying.text.slice(0, 200));
  assert.ok(statuses.every((s) => s === '200' || s === '400'), statuses.join(','));
  assert.not.match(lying.text, /PAYLOAD_TOO_LARGE|INTERNAL/);
  assert.is((await snapshot(ctx, mint(ctx))).status, 200, 'the server still serves');
});

test('strict bodies: unknown field, __proto__, duplicate key → 400 naming the field', async (ctx) => {
  for (const [body, field] of [
    ['{"tenantIds":["farm"],"admin":true}', 'admin'],
    ['{"tenantIds":["farm"],"__proto__":{"admin":true}}', '__proto__'],
    ['{"tenantIds":["farm"],"tenantIds":["other"]}', 'tenantIds'],
    ['{"tenantIds":"farm"}', 'tenantIds'],
  ] as const) {
    const res = await http(ctx, 'POST', '/oracle/v1/snapshots:batch', { authorization: `Bearer ${mint(ctx)}`, 'content-type': 'application/json' }, body);
    assert.is(res.status, 400, res.text);
    assert.is(res.body.error.code, 'BAD_REQUEST');
    assert.is(res.body.error.details.field, field);
    assert.match(res.body.error.message, new RegExp(field.replace(/_/g, '_')));
  }
});

test('the 1,001st request within one second → 429 with Retry-After; the 1,000 before pass', async (ctx) => {
  // The server's clock is frozen: every request lands in the same second.
  const tokens = Array.from({ length: 1_001 }, () => mint(ctx, { partnerId: 'burst' }));
  const statuses: number[] = [];
  const agent = burstAgent();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < 1_000) {
        const i = next++;
        statuses[i] = (await snapshot(ctx, tokens[i]!, agent)).status;
      }
    }),
  );
  agent.destroy();
  assert.is(statuses.filter((s) => s === 200).length, 1_000);
  const res = await refused(ctx, () => snapshot(ctx, tokens[1_000]!), 429, 'RATE_LIMITED', 'burst');
  assert.is(res.headers['retry-after'], '1');
  // Another partner is not affected.
  assert.is((await snapshot(ctx, mint(ctx))).status, 200);
});

test('slowloris: headers trickled → cut off after the headers timeout; a trickled body → cut off after the request timeout', async (ctx) => {
  const trickle = ['GET /oracle/v1/tenants/farm/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n', ...Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: a\r\n`)];
  const headers = await rawExchange(ctx, trickle, 100);
  assert.ok(headers.closedAfterMs < HEADERS_TIMEOUT_MS + 3_000, `closed after ${headers.closedAfterMs} ms`);
  assert.ok(headers.closedAfterMs >= HEADERS_TIMEOUT_MS - 100, `closed too early: ${headers.closedAfterMs} ms`);
  assert.match(headers.text, /^HTTP\/1\.1 408/);

  const body = [
    `POST /oracle/v1/snapshots:batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${mint(ctx)}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`,
    ...Array.from({ length: 100 }, () => ' '),
  ];
  const slowBody = await rawExchange(ctx, body, 100);
  assert.ok(slowBody.closedAfterMs < REQUEST_TIMEOUT_MS + 3_000, `closed after ${slowBody.closedAfterMs} ms`);
  assert.not.match(slowBody.text, /HTTP\/1\.1 200/);
});

if (available) test.run();
