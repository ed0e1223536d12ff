import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBase64Url } from '../audit/format';
import type { Ed25519PublicJwk, Signer } from '../ports/signer';

/** RFC 7638 thumbprint of an Ed25519 JWK, used as the key id. */
export function jwkThumbprint(jwk: Ed25519PublicJwk): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return toBase64Url(createHash('sha256').update(canonical).digest());
}

/** Signer over node:crypto (about 16× faster than pure JS on this machine). */
export class NodeEd25519Signer implements Signer {
  readonly kid: string;
  readonly publicKeyJwk: Ed25519PublicJwk;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;

  constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('signing key must be Ed25519');
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    const jwk = this.#publicKey.export({ format: 'jwk' }) as { x?: string };
    if (!jwk.x) throw new TypeError('could not export the public key');
    this.publicKeyJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
    this.kid = jwkThumbprint(this.publicKeyJwk);
  }

  static generate(): NodeEd25519Signer {
    return new NodeEd25519Signer(generateKeyPairSync('ed25519').privateKey);
  }

  /**
   * Loads the node key from `<dir>/signing-ed25519.pem`, creating it (mode
   * 0600, folder 0700) on first start.
   */
  static loadOrCreate(dir: string): NodeEd25519Signer {
    const file = join(dir, 'signing-ed25519.pem');
    if (existsSync(file)) {
      const mode = statSync(file).mode & 0o777;
      if (mode & 0o077) chmodSync(file, 0o600);
      return new NodeEd25519Signer(createPrivateKey(readFileSync(file)));
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    return new NodeEd25519Signer(privateKey);
  }

  /**
   * A new key for `<dir>` that replaces the current one only on `commit()`:
   * written first as `signing-ed25519.pem.next` (0600), then renamed over the
   * current file (atomic; the old private key is gone). `abort()` removes it.
   * A crash in between leaves the old key in use, which stays valid.
   */
  static prepareReplacement(dir: string): { signer: NodeEd25519Signer; commit(): void; abort(): void } {
    const file = join(dir, 'signing-ed25519.pem');
    const next = `${file}.next`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    rmSync(next, { force: true });
    writeFileSync(next, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    return {
      signer: new NodeEd25519Signer(privateKey),
      commit: () => renameSync(next, file),
      abort: () => rmSync(next, { force: true }),
    };
  }

  sign(message: Uint8Array): Uint8Array {
    return sign(null, message, this.#privateKey);
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return verify(null, message, this.#publicKey, signature);
  }
}

/** A node:crypto verifier for a known public JWK. */
export function jwkVerifier(jwk: Ed25519PublicJwk): (message: Uint8Array, signature: Uint8Array) => boolean {
  const key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
  return (message, signature) => verify(null, message, key, signature);
}
