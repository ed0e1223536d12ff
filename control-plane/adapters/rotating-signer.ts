import type { Ed25519PublicJwk, Signer } from '../ports/signer';

/**
 * The node's signer as every service holds it: one object whose key can be
 * replaced (node key rotation) without rewiring the audit log, the oracle,
 * the drift reports or the artifact store. Reads of `kid` and the signature
 * made right after always agree (both read the same current key, and
 * signing is synchronous).
 */
export class RotatingSigner implements Signer {
  #current: Signer;

  constructor(initial: Signer) {
    this.#current = initial;
  }

  get kid(): string {
    return this.#current.kid;
  }

  get publicKeyJwk(): Ed25519PublicJwk {
    return this.#current.publicKeyJwk;
  }

  /** The key in use now (for a rotation to name what it replaces). */
  get current(): Signer {
    return this.#current;
  }

  sign(message: Uint8Array): Uint8Array {
    return this.#current.sign(message);
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return this.#current.verify(message, signature);
  }

  /** From now on, signs with `next`. */
  replace(next: Signer): void {
    this.#current = next;
  }
}
