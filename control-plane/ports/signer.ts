/** Ed25519 public key in JWK form (RFC 8037). */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/** The node's signing key. Signing is synchronous: it sits on hot paths. */
export interface Signer {
  readonly kid: string;
  readonly publicKeyJwk: Ed25519PublicJwk;
  sign(message: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}
