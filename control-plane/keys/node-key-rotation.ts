import type { Logger } from 'pino';
import { RevisionConflictError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { signingKeys } from '../../db/schema';
import { NodeEd25519Signer } from '../adapters/ed25519-signer';
import type { RotatingSigner } from '../adapters/rotating-signer';
import type { AuditLog } from '../audit/audit-store';
import { runGoverned, type GovernanceGate } from '../governance/gate';
import type { Ed25519PublicJwk } from '../ports/signer';

export interface RotationResult {
  previousKid: string;
  kid: string;
  alg: 'EdDSA';
  publicKeyJwk: Ed25519PublicJwk;
}

/**
 * Rotating this node's signing key (governance-locked `node-key.rotate`,
 * params `{ kid }` = the key being replaced). In one transaction the unlock
 * is spent, the new public key published (GET /api/v1/keys keeps the old one:
 * what it signed stays verifiable) and the rotation audited; only after the
 * commit does the key file change and the node sign with the new key. A
 * refused or failed rotation leaves the old key in place.
 */
export class NodeKeyRotation {
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly d: {
      db: Db;
      audit: AuditLog;
      gate: GovernanceGate;
      signer: RotatingSigner;
      /** Where the key file lives; null when the signer was handed in (tests): nothing is written. */
      keyDir: string | null;
      log: Logger;
    },
  ) {}

  /** One rotation at a time on a node; the kid check happens inside the queue. */
  rotate(input: { kid: string; justification: string; unlockId?: string | undefined }, by: Principal): Promise<RotationResult> {
    const run = this.#running.then(() => this.#rotate(input, by));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #rotate(input: { kid: string; justification: string; unlockId?: string | undefined }, by: Principal): Promise<RotationResult> {
    const previousKid = this.d.signer.kid;
    if (input.kid !== previousKid) {
      throw new RevisionConflictError(`this node signs with key ${previousKid}, not ${input.kid}: propose node-key.rotate with params { "kid": "${previousKid}" } (GET /api/v1/keys/current)`, {
        details: { currentKid: previousKid },
      });
    }
    const next = this.d.keyDir ? NodeEd25519Signer.prepareReplacement(this.d.keyDir) : { signer: NodeEd25519Signer.generate(), commit: () => undefined, abort: () => undefined };
    try {
      await runGoverned(this.d.db, this.d.audit, by, async (tx) => {
        const { unlockId } = await this.d.gate.requireUnlock(tx, 'node-key.rotate', { kid: previousKid }, input.unlockId, by);
        await tx.insert(signingKeys).values({ kid: next.signer.kid, alg: 'EdDSA', publicKeyJwk: next.signer.publicKeyJwk }).onConflictDoNothing();
        await this.d.audit.append(tx, {
          actor: actorOf(by),
          action: 'node-key.rotated',
          subject: `node-key:${previousKid}`,
          payload: { previousKid, kid: next.signer.kid, publicKeyJwk: next.signer.publicKeyJwk, justification: input.justification, unlockId },
        });
      });
    } catch (err) {
      next.abort();
      throw err;
    }
    next.commit();
    this.d.signer.replace(next.signer);
    this.d.log.warn({ previousKid, kid: next.signer.kid, by: by.name }, 'node signing key rotated');
    return { previousKid, kid: next.signer.kid, alg: 'EdDSA', publicKeyJwk: next.signer.publicKeyJwk };
  }
}
