import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartnerTokenError } from '../../actors/errors';
import { ManualClock } from '../ports/clock';
import { mintPartnerToken } from './mint-token';
import { PartnerTokenVerifier } from './partner-token';
import type { Partner } from './partners';

const AUD = 'tollgate-oracle';
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ed25519');
const partners = new Map<string, Partner>([
  ['acme', { id: 'acme', alg: 'EdDSA', internal: false, rateLimitPerSecond: 1000, audiences: null, key: ed.publicKey }],
  ['ecorp', { id: 'ecorp', alg: 'ES256', internal: false, rateLimitPerSecond: 1000, audiences: null, key: ec.publicKey }],
  // Registered for two oracle deployments, not this one's staging twin.
  ['multi', { id: 'multi', alg: 'EdDSA', internal: false, rateLimitPerSecond: 1000, audiences: new Set([AUD, 'tollgate-oracle-eu']), key: ed.publicKey }],
  ['elsewhere', { id: 'elsewhere', alg: 'EdDSA', internal: false, rateLimitPerSecond: 1000, audiences: new Set(['tollgate-oracle-eu']), key: ed.publicKey }],
]);
const clock = new ManualClock(Date.UTC(2026, 5, 1));
const now = () => Math.floor(clock.now().getTime() / 1000);
const verifier = new PartnerTokenVerifier({ audience: AUD, clock, partner: (id) => partners.get(id) });

const mint = (o: Partial<Parameters<typeof mintPartnerToken>[0]> & { key?: KeyObject } = {}) =>
  mintPartnerToken({ partnerId: 'acme', audience: AUD, privateKey: o.key ?? ed.privateKey, now: now(), ...o });

async function refusal(token: string): Promise<string> {
  try {
    await verifier.verify(token);
  } catch (err) {
    assert.ok(err instanceof PartnerTokenError, `not a PartnerTokenError: ${String(err)}`);
    assert.not.match((err as Error).message, /BEGIN|"x"|"d"/, 'no key material in messages');
    return (err as PartnerTokenError).code;
  }
  return 'ACCEPTED';
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function unsigned(header: Record<string, unknown>, claims: Record<string, unknown>, sig = ''): string {
  return `${b64(header)}.${b64(claims)}.${sig}`;
}
const goodClaims = () => ({ iss: 'acme', aud: AUD, iat: now(), exp: now() + 60, jti: 'j1' });

test('valid EdDSA and ES256 tokens are accepted', async () => {
  const v = await verifier.verify(mint());
  assert.is(v.partner.id, 'acme');
  const e = await verifier.verify(mint({ partnerId: 'ecorp', key: ec.privateKey }));
  assert.is(e.partner.id, 'ecorp');
});

test('a refusal carries no stack trace (a flood of bad tokens costs less) and leaves the stack depth of other errors alone', async () => {
  const depth = Error.stackTraceLimit;
  const err = await verifier.verify('not-a-token').catch((e: unknown) => e);
  assert.instance(err, PartnerTokenError);
  assert.is((err as Error).stack, `PartnerTokenError: ${(err as Error).message}`);
  assert.is(Error.stackTraceLimit, depth);
  assert.match(new Error('other').stack ?? '', /\n\s+at /);
});

test('alg none / noNE / HS256 with the public key as secret → JWT_ALG_NOT_ALLOWED', async () => {
  assert.is(await refusal(unsigned({ alg: 'none', typ: 'oracle+jwt', kid: 'acme' }, goodClaims(), 'x')), 'JWT_ALG_NOT_ALLOWED');
  assert.is(await refusal(unsigned({ alg: 'noNE', typ: 'oracle+jwt', kid: 'acme' }, goodClaims(), 'x')), 'JWT_ALG_NOT_ALLOWED');
  const input = `${b64({ alg: 'HS256', typ: 'oracle+jwt', kid: 'acme' })}.${b64(goodClaims())}`;
  const pem = ed.publicKey.export({ format: 'pem', type: 'spki' });
  const sig = createHmac('sha256', pem).update(input).digest('base64url');
  assert.is(await refusal(`${input}.${sig}`), 'JWT_ALG_NOT_ALLOWED');
});

test('structure: non-base64url characters, JSON serialization, two or four parts, huge token → JWT_MALFORMED', async () => {
  const t = mint();
  assert.is(await refusal(`${t}=`), 'JWT_MALFORMED');
  assert.is(await refusal(t.replace('.', ' .')), 'JWT_MALFORMED');
  assert.is(await refusal(JSON.stringify({ protected: 'a', payload: 'b', signature: 'c' })), 'JWT_MALFORMED');
  assert.is(await refusal(t.split('.').slice(0, 2).join('.')), 'JWT_MALFORMED');
  assert.is(await refusal(`${t}.abc`), 'JWT_MALFORMED');
  assert.is(await refusal('a'.repeat(5000)), 'JWT_MALFORMED');
  assert.is(await refusal(`${Buffer.from('not json').toString('base64url')}.e30.e30`), 'JWT_MALFORMED');
});

test('jku / x5u / jwk / crit headers → JWT_FORBIDDEN_HEADER', async () => {
  for (const h of [{ jku: 'http://127.0.0.1:1/keys' }, { x5u: 'http://127.0.0.1:1/cert' }, { jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' } }, { crit: ['exp'] }]) {
    assert.is(await refusal(mint({ header: h })), 'JWT_FORBIDDEN_HEADER', JSON.stringify(h));
  }
});

test('kid: unknown, injection-shaped, huge, prototype names → JWT_UNKNOWN_KID; alg/kid mismatch → JWT_KID_ALG_MISMATCH', async () => {
  for (const kid of ["acme' OR '1'='1", '../../etc/passwd', 'k'.repeat(5000), '__proto__', 'constructor', 'toString', '', 42]) {
    const code = await refusal(mint({ header: { kid } }));
    assert.ok(code === 'JWT_UNKNOWN_KID' || code === 'JWT_MALFORMED', `kid ${String(kid).slice(0, 20)}: ${code}`);
  }
  assert.is(await refusal(mint({ header: { kid: 'nobody' } })), 'JWT_UNKNOWN_KID');
  // An ES256 token naming the EdDSA partner, and the other way round.
  assert.is(await refusal(mint({ key: ec.privateKey })), 'JWT_KID_ALG_MISMATCH');
  assert.is(await refusal(mint({ partnerId: 'ecorp', key: ed.privateKey })), 'JWT_KID_ALG_MISMATCH');
});

test('signature by another key, or a tampered payload → JWT_BAD_SIGNATURE', async () => {
  assert.is(await refusal(mint({ key: other.privateKey })), 'JWT_BAD_SIGNATURE');
  const [h, , s] = mint().split('.');
  assert.is(await refusal(`${h}.${b64({ ...goodClaims(), jti: 'other' })}.${s}`), 'JWT_BAD_SIGNATURE');
});

test('typ, iss, aud, missing claims', async () => {
  assert.is(await refusal(mint({ header: { typ: 'JWT' } })), 'JWT_BAD_TYP');
  assert.is(await refusal(mint({ header: { typ: undefined } })), 'JWT_BAD_TYP');
  assert.is(await refusal(mint({ claims: { iss: 'ecorp' } })), 'JWT_BAD_ISSUER');
  assert.is(await refusal(mint({ claims: { aud: 'someone-else' } })), 'JWT_BAD_AUDIENCE');
  // Per-partner allowed audiences.
  assert.is(await refusal(mint({ partnerId: 'multi' })), 'ACCEPTED');
  assert.is(await refusal(mint({ partnerId: 'multi', claims: { aud: [AUD, 'tollgate-oracle-eu'] } })), 'ACCEPTED');
  assert.is(await refusal(mint({ partnerId: 'multi', claims: { aud: [AUD, 'tollgate-oracle-staging'] } })), 'JWT_BAD_AUDIENCE');
  assert.is(await refusal(mint({ partnerId: 'elsewhere' })), 'JWT_BAD_AUDIENCE');
  // Without a list, this oracle's audience is enough (extra audiences are the partner's business).
  assert.is(await refusal(mint({ claims: { aud: [AUD, 'tollgate-oracle-staging'] } })), 'ACCEPTED');
  for (const claim of ['iss', 'aud', 'exp', 'iat', 'jti']) assert.is(await refusal(mint({ claims: { [claim]: undefined } })), 'JWT_MISSING_CLAIM', claim);
  assert.is(await refusal(mint({ claims: { jti: 'j'.repeat(200) } })), 'JWT_MISSING_CLAIM');
});

test('time: expired, nbf and iat in the future beyond 300 s refused; just inside 300 s accepted', async () => {
  const t = now();
  assert.is(await refusal(mint({ claims: { iat: t - 400, exp: t - 301 } })), 'JWT_EXPIRED');
  assert.is(await refusal(mint({ claims: { iat: t - 400, exp: t - 299 } })), 'ACCEPTED');
  assert.is(await refusal(mint({ claims: { nbf: t + 301 } })), 'JWT_NOT_YET_VALID');
  assert.is(await refusal(mint({ claims: { nbf: t + 299 } })), 'ACCEPTED');
  assert.is(await refusal(mint({ claims: { iat: t + 301, exp: t + 400 } })), 'JWT_ISSUED_IN_FUTURE');
  assert.is(await refusal(mint({ claims: { iat: t + 299, exp: t + 400 } })), 'ACCEPTED');
  assert.is(await refusal(mint({ claims: { iat: t, exp: t + 7200 } })), 'JWT_LIFETIME_TOO_LONG');
  // The verifier follows the injected clock, not the wall clock.
  const token = mint();
  clock.increment(61_000 + 300_000);
  assert.is(await refusal(token), 'JWT_EXPIRED');
});


test('an independent implementation agrees: tokens signed by jose verify here, and jose agrees on the claims', async () => {
  const { SignJWT, jwtVerify } = await import('jose');
  for (const [kid, key, alg, pub] of [['acme', ed.privateKey, 'EdDSA', ed.publicKey], ['ecorp', ec.privateKey, 'ES256', ec.publicKey]] as const) {
    const signed = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg, typ: 'oracle+jwt', kid }).sign(key);
    const base = { iss: kid, aud: AUD, iat: now(), exp: now() + 60, jti: `j-${kid}` };
    const good = await signed(base);
    assert.is((await verifier.verify(good)).partner.id, kid);
    const joseOk = await jwtVerify(good, pub, { issuer: kid, audience: AUD, currentDate: clock.now() }).then(() => true, () => false);
    assert.ok(joseOk, 'jose accepts it too');
    // Same refusals where jose refuses: expired beyond skew, wrong audience, future nbf.
    for (const [claims, code] of [
      [{ ...base, exp: now() - 301 }, 'JWT_EXPIRED'],
      [{ ...base, aud: 'someone-else' }, 'JWT_BAD_AUDIENCE'],
      [{ ...base, nbf: now() + 301 }, 'JWT_NOT_YET_VALID'],
      [{ ...base, exp: now() - 299 }, 'ACCEPTED'],
    ] as const) {
      const t = await signed({ ...claims, jti: `${code}-${kid}` });
      assert.is(await refusal(t), code, `${alg} ${code}`);
      const joseAccepts = await jwtVerify(t, pub, { issuer: kid, audience: AUD, currentDate: clock.now(), clockTolerance: 300 }).then(() => true, () => false);
      assert.is(joseAccepts, code === 'ACCEPTED', `jose on ${code}`);
    }
    // A flipped signature byte.
    const [h, p, s] = good.split('.') as [string, string, string];
    const bad = Buffer.from(s, 'base64url');
    bad[0]! ^= 1;
    assert.is(await refusal(`${h}.${p}.${bad.toString('base64url')}`), 'JWT_BAD_SIGNATURE');
  }
});

test.run();
