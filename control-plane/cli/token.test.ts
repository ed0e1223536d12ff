import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartnerTokenVerifier } from '../oracle/partner-token';
import { systemClock } from '../ports/clock';
import { main } from './main';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-token-'));

async function run(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

test('tollgate token mints a one-use partner JWT the oracle verifier accepts; --public-jwk prints the key to register', async () => {
  for (const [type, alg] of [['ed25519', 'EdDSA'], ['ec', 'ES256']] as const) {
    const { privateKey } = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = join(dir, `${type}.pem`);
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const jwk = await run('token', '--key', file, '--public-jwk');
    assert.is(jwk.code, 0, jwk.err);
    const publicKey = createPublicKey({ key: JSON.parse(jwk.out), format: 'jwk' });
    const minted = await run('token', '--key', file, '--partner', 'acme', '--ttl', '120');
    assert.is(minted.code, 0, minted.err);
    const verifier = new PartnerTokenVerifier({ audience: 'tollgate-oracle', clock: systemClock, partner: (id) => (id === 'acme' ? { id, alg, internal: false, rateLimitPerSecond: 1, audiences: null, key: publicKey } : undefined) });
    const v = await verifier.verify(minted.out.trim());
    assert.is(v.partner.id, 'acme');
  }
});

test('tollgate token: bad invocations exit 2 naming the problem', async () => {
  assert.match((await run('token', '--partner', 'acme')).err, /missing --key/);
  assert.match((await run('token', '--key', join(dir, 'none.pem'), '--partner', 'acme')).err, /--key/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  writeFileSync(join(dir, 'rsa.pem'), rsa.export({ format: 'pem', type: 'pkcs8' }));
  const r = await run('token', '--key', join(dir, 'rsa.pem'), '--partner', 'acme');
  assert.is(r.code, 2);
  assert.match(r.err, /Ed25519 or P-256/);
  assert.match((await run('token', '--key', join(dir, 'ed25519.pem'), '--partner', 'acme', '--ttl', '99999')).err, /--ttl/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
