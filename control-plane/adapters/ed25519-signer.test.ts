import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fromBase64Url } from '../audit/format';
import { jwkThumbprint, jwkVerifier, NodeEd25519Signer } from './ed25519-signer';

const test = suite('node Ed25519 signer');

test('the key is created once with mode 0600 in a 0700 folder and reused after', () => {
  const root = mkdtempSync(join(tmpdir(), 'tg-keys-'));
  const dir = join(root, 'keys');
  try {
    const a = NodeEd25519Signer.loadOrCreate(dir);
    assert.is(statSync(join(dir, 'signing-ed25519.pem')).mode & 0o777, 0o600);
    assert.is(statSync(dir).mode & 0o777, 0o700);
    const pem = readFileSync(join(dir, 'signing-ed25519.pem'), 'utf8');
    const b = NodeEd25519Signer.loadOrCreate(dir);
    assert.is(b.kid, a.kid);
    assert.is(readFileSync(join(dir, 'signing-ed25519.pem'), 'utf8'), pem);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('kid is the RFC 7638 thumbprint (RFC 8037 appendix A.3 vector)', () => {
  assert.is(
    jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }),
    'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
  );
});

test('node:crypto and pure-JS @noble/curves agree: same keys, same signatures', () => {
  const signer = NodeEd25519Signer.generate();
  const message = new TextEncoder().encode('tollgate');
  const sig = signer.sign(message);
  const pub = fromBase64Url(signer.publicKeyJwk.x);
  assert.ok(ed25519.verify(sig, message, pub));
  assert.ok(jwkVerifier(signer.publicKeyJwk)(message, sig));
  const tampered = sig.slice();
  tampered[0]! ^= 1;
  assert.not.ok(ed25519.verify(tampered, message, pub));
  assert.not.ok(signer.verify(message, tampered));
});

test.run();
