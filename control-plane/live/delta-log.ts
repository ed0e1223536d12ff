import { randomBytes } from 'node:crypto';
import type { Delta } from './protocol';

/**
 * The node's deltas in order, the last `capacity` of them kept for clients
 * that reconnect. `seq` starts at 1 and never repeats within an epoch; a new
 * process is a new epoch, so a client's old seq is never mistaken for ours.
 */
export class DeltaLog {
  readonly epoch = randomBytes(8).toString('hex');
  readonly #ring: Delta[];
  #head = 0;

  constructor(readonly capacity = 10_000) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('DeltaLog capacity must be a positive integer');
    this.#ring = new Array<Delta>(capacity);
  }

  /** The seq of the newest delta (0 before the first). */
  get head(): number {
    return this.#head;
  }

  append(input: Omit<Delta, 'seq' | 'epoch'>): Delta {
    const delta: Delta = { ...input, seq: this.#head + 1, epoch: this.epoch };
    this.#head = delta.seq;
    this.#ring[delta.seq % this.capacity] = delta;
    return delta;
  }

  /**
   * Every delta after `seq`, in order; null when some of them have left the
   * ring (or `seq` is not of this epoch's past), and the caller needs a snapshot.
   */
  since(epoch: string, seq: number): Delta[] | null {
    if (epoch !== this.epoch || !Number.isSafeInteger(seq) || seq < 0 || seq > this.#head) return null;
    if (this.#head - seq > this.capacity) return null;
    const out: Delta[] = [];
    for (let s = seq + 1; s <= this.#head; s++) out.push(this.#ring[s % this.capacity]!);
    return out;
  }
}
