import type { Logger } from 'pino';
import type { ClusterLeadership } from '../actor-host/leadership';
import { decodeJson, encodeJson } from '../actor-host/protocol';
import type { Bus, Msg, Subscription } from '../ports/bus';

export interface AnswerCounts {
  total: number;
  failed: number;
}

/** How the nodes of a cluster pool their HTTP answers at the leader. */
export interface AnswerForwarding {
  leadership: ClusterLeadership;
  bus: Bus;
  subject: string;
}

/**
 * The HTTP answers of one availability window: this node's own and, on the
 * leader, those the other nodes forwarded. A node that does not lead sends
 * its counts to the leader instead of judging them. Counts sent while the
 * lead changes hands may be dropped, never counted twice.
 */
export class AvailabilityWindow {
  #own: AnswerCounts = { total: 0, failed: 0 };
  #forwarded: AnswerCounts = { total: 0, failed: 0 };
  #subscription: Subscription | null = null;

  constructor(
    private readonly forwarding: AnswerForwarding | undefined,
    private readonly log: Logger,
  ) {}

  /** Counts one answer of this node. */
  answered(status: number): void {
    this.#own.total++;
    if (status >= 500) this.#own.failed++;
  }

  /** Starts receiving other nodes' counts (kept only while this node leads). */
  listen(): void {
    if (!this.forwarding || this.#subscription) return;
    this.#subscription = this.forwarding.bus.subscribe(this.forwarding.subject, (msg) => this.#receive(msg));
  }

  stop(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = null;
  }

  /** The window's counts, this node's and forwarded ones; starts the next window. */
  take(): AnswerCounts {
    const counts = { total: this.#own.total + this.#forwarded.total, failed: this.#own.failed + this.#forwarded.failed };
    this.#own = { total: 0, failed: 0 };
    this.#forwarded = { total: 0, failed: 0 };
    return counts;
  }

  /** Sends this node's counts to the leader and starts the next window. */
  forward(): void {
    const counts = this.take();
    if (counts.total === 0 || !this.forwarding) return;
    try {
      this.forwarding.bus.publish(this.forwarding.subject, encodeJson(counts));
    } catch (err) {
      this.log.warn({ err }, 'could not forward HTTP answer counts to the SLO leader; this window is left out');
    }
  }

  #receive(msg: Msg): void {
    if (!this.forwarding?.leadership.leads()) return; // sent to a leader that has just stepped down
    try {
      const { total, failed } = decodeJson(msg.data) as { total?: unknown; failed?: unknown };
      if (!isCount(total) || !isCount(failed) || failed > total) return;
      this.#forwarded.total += total;
      this.#forwarded.failed += failed;
    } catch {
      // an unreadable message is not counted
    }
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
