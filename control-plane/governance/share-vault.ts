import { randomUUID } from 'node:crypto';
import type { Clock } from '../ports/clock';

/** Which request (and which of its nonces) a group of shares belongs to. */
export interface VaultKey {
  id: string;
  nonce: string;
  expiresAt: Date;
}

/**
 * Accepted shares waiting for their request's threshold, in this process's
 * memory only (see UnlockService for why never in the database). Dropped
 * shares are zeroed; shares of expired requests go at the next access.
 */
export class ShareVault {
  /** Written beside each submission: which process holds its share. */
  readonly id = randomUUID();
  readonly #slots = new Map<string, { expiresAt: number; shares: Map<string, Uint8Array> }>();

  constructor(private readonly clock: Clock) {}

  /** The shares of one request and nonce, by member id (created empty). */
  slot(key: VaultKey): Map<string, Uint8Array> {
    this.#sweep();
    const k = `${key.id}:${key.nonce}`;
    let slot = this.#slots.get(k);
    if (!slot) this.#slots.set(k, (slot = { expiresAt: key.expiresAt.getTime(), shares: new Map() }));
    return slot.shares;
  }

  /** Puts a member's share in, zeroing one it replaces. */
  put(key: VaultKey, memberId: string, share: Uint8Array): void {
    const slot = this.slot(key);
    const old = slot.get(memberId);
    if (old && old !== share) old.fill(0);
    slot.set(memberId, share);
  }

  /** Zeroes and forgets a request's shares. */
  drop(key: VaultKey): void {
    this.#dropKey(`${key.id}:${key.nonce}`);
  }

  #dropKey(k: string): void {
    for (const share of this.#slots.get(k)?.shares.values() ?? []) share.fill(0);
    this.#slots.delete(k);
  }

  #sweep(): void {
    const now = this.clock.now().getTime();
    for (const [k, slot] of this.#slots) if (slot.expiresAt <= now) this.#dropKey(k);
  }
}
