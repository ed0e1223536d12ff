import type { Redis } from 'ioredis';
import { ReplayCacheUnavailableError } from '../../actors/errors';
import type { Clock } from '../ports/clock';
import type { ReplayCache } from '../ports/replay-cache';

/** Redis adapter: `SET key 1 NX EXAT <expiry>`, one round trip, shared by every node. */
export class RedisReplayCache implements ReplayCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(key: string, expiresAt: Date): Promise<boolean> {
    const exat = Math.max(1, Math.ceil(expiresAt.getTime() / 1000));
    let reply: string | null;
    try {
      reply = await this.redis.set(`${this.prefix}jti:${key}`, '1', 'EXAT', exat, 'NX');
    } catch (err) {
      throw new ReplayCacheUnavailableError('the replay cache is unreachable; refusing rather than accepting a possible replay', { cause: err });
    }
    return reply === 'OK';
  }
}

/**
 * In-process adapter (embedded mode, one node): a TTL map on the injected
 * clock. Expired keys are swept as new ones arrive, so memory stays bounded
 * by what can be claimed within one token lifetime.
 */
export class InProcessReplayCache implements ReplayCache {
  readonly #expiries = new Map<string, number>();
  #sweepAt = 0;

  constructor(private readonly clock: Clock) {}

  async claim(key: string, expiresAt: Date): Promise<boolean> {
    const now = this.clock.now().getTime();
    if (now >= this.#sweepAt) this.#sweep(now);
    const held = this.#expiries.get(key);
    if (held !== undefined && held > now) return false;
    if (expiresAt.getTime() <= now) return true;
    this.#expiries.set(key, expiresAt.getTime());
    return true;
  }

  get size(): number {
    return this.#expiries.size;
  }

  #sweep(now: number): void {
    for (const [key, at] of this.#expiries) if (at <= now) this.#expiries.delete(key);
    this.#sweepAt = now + 1_000;
  }
}
