import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, linkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BadRequestError, NotFoundError } from '../../actors/errors';
import { TENANT_ID } from '../registry/ids';
import type { Signer } from '../ports/signer';

const SHA256 = /^[0-9a-f]{64}$/;

export interface StoredArtifact {
  sha256: string;
  bytes: number;
  path: string;
  /** False when the same content was already stored (nothing written). */
  created: boolean;
}

/**
 * Content-addressed artifacts on the filesystem:
 * `<root>/<tenant>/<sha256>`. A file is written once (hard-link from a
 * temporary file, which fails rather than replaces) and never overwritten.
 */
export class FsArtifactStore {
  constructor(private readonly root: string) {}

  pathOf(tenantId: string, sha256: string): string {
    if (!TENANT_ID.test(tenantId)) throw new BadRequestError(`"${tenantId}" is not a tenant id`);
    if (!SHA256.test(sha256)) throw new BadRequestError(`"${sha256}" is not a sha256 digest`);
    return join(this.root, tenantId, sha256);
  }

  put(tenantId: string, data: Uint8Array): StoredArtifact {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const path = this.pathOf(tenantId, sha256);
    if (existsSync(path)) return { sha256, bytes: data.byteLength, path, created: false };
    mkdirSync(join(this.root, tenantId), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, data, { mode: 0o400, flag: 'wx' });
    try {
      linkSync(tmp, path); // EEXIST if another writer won: same name means same content
      return { sha256, bytes: data.byteLength, path, created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { sha256, bytes: data.byteLength, path, created: false };
      throw err;
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Reads an artifact back, checking its content still matches its name. */
  get(tenantId: string, sha256: string): Buffer {
    const path = this.pathOf(tenantId, sha256);
    if (!existsSync(path)) throw new NotFoundError(`no artifact ${sha256} for tenant ${tenantId}`);
    const data = readFileSync(path);
    if (createHash('sha256').update(data).digest('hex') !== sha256) throw new Error(`artifact ${path} does not match its digest`);
    return data;
  }

  has(tenantId: string, sha256: string): boolean {
    return existsSync(this.pathOf(tenantId, sha256));
  }

  /** Removes an artifact (retention only). */
  remove(tenantId: string, sha256: string): void {
    rmSync(this.pathOf(tenantId, sha256), { force: true });
  }
}

/** The Ed25519 signature over the 32 raw bytes of an artifact digest (base64url). */
export function signDigest(signer: Signer, sha256: string): { kid: string; signature: string } {
  return { kid: signer.kid, signature: Buffer.from(signer.sign(Buffer.from(sha256, 'hex'))).toString('base64url') };
}

export function verifyDigest(signer: Pick<Signer, 'verify'>, sha256: string, signature: string): boolean {
  return signer.verify(Buffer.from(sha256, 'hex'), Buffer.from(signature, 'base64url'));
}
