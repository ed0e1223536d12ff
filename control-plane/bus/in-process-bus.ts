import { randomBytes } from 'node:crypto';
import { NoRespondersError, PayloadTooLargeError, RequestTimeoutError, UnavailableError } from '../../actors/errors';
import type { Bus, Headers, Msg, RequestOptions, SubscribeOptions, Subscription } from '../ports/bus';
import { assertPattern, assertPublishSubject, tokensMatch } from './subjects';

interface Sub {
  pattern: string;
  /** The pattern's tokens, split once (wildcard subscriptions are matched on every publish). */
  tokens: string[];
  exact: boolean;
  queue?: string;
  handler: (msg: Msg) => void;
  active: boolean;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const EMPTY: Headers = Object.freeze({});

/**
 * The embedded Bus: NATS core semantics in one process. Delivery is
 * asynchronous (a microtask) and in publish order per subscription, as a
 * network would be, so code cannot come to rely on synchronous calls.
 */
export class InProcessBus implements Bus {
  readonly maxPayload: number;
  readonly #exact = new Map<string, Sub[]>();
  readonly #wild: Sub[] = [];
  readonly #queueCursor = new Map<string, number>();
  #closed = false;
  // Reply inboxes: a per-bus random stem and a counter (no entropy per request).
  readonly #inboxStem = `_INBOX.${randomBytes(6).toString('hex')}`;
  #inboxCount = 0;

  constructor(options: { maxPayload?: number } = {}) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  publish(subject: string, data: Uint8Array, headers: Headers = EMPTY): void {
    this.#deliver(subject, data, headers, undefined);
  }

  subscribe(pattern: string, handler: (msg: Msg) => void, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen();
    assertPattern(pattern);
    const exact = !pattern.includes('*') && !pattern.includes('>');
    const sub: Sub = { pattern, tokens: pattern.split('.'), exact, handler, active: true, ...(options.queue ? { queue: options.queue } : {}) };
    if (exact) {
      const list = this.#exact.get(pattern) ?? [];
      list.push(sub);
      this.#exact.set(pattern, list);
    } else this.#wild.push(sub);
    return {
      unsubscribe: () => {
        if (!sub.active) return;
        sub.active = false;
        if (exact) {
          const list = this.#exact.get(pattern)!.filter((s) => s !== sub);
          if (list.length) this.#exact.set(pattern, list);
          else this.#exact.delete(pattern);
        } else this.#wild.splice(this.#wild.indexOf(sub), 1);
      },
    };
  }

  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Msg> {
    this.#assertOpen();
    return new Promise<Msg>((resolve, reject) => {
      const inbox = `${this.#inboxStem}.${++this.#inboxCount}`;
      const sub = this.subscribe(inbox, (msg) => {
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(msg);
      });
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new RequestTimeoutError(`no reply on ${subject} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      try {
        const delivered = this.#deliver(subject, data, options.headers ?? EMPTY, inbox);
        if (delivered === 0) throw new NoRespondersError(`no responders on ${subject}`);
      } catch (err) {
        clearTimeout(timer);
        sub.unsubscribe();
        reject(err);
      }
    });
  }

  async flush(): Promise<void> {
    this.#assertOpen();
    await new Promise((r) => setImmediate(r));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#exact.clear();
    this.#wild.length = 0;
  }

  /** Returns how many subscriptions received the message. */
  #deliver(subject: string, data: Uint8Array, headers: Headers, reply: string | undefined): number {
    this.#assertOpen();
    assertPublishSubject(subject);
    if (data.byteLength > this.maxPayload) {
      throw new PayloadTooLargeError(`message of ${data.byteLength} bytes exceeds the bus maximum of ${this.maxPayload}`);
    }
    const matched: Sub[] = [...(this.#exact.get(subject) ?? [])];
    if (this.#wild.length > 0) {
      const tokens = subject.split('.');
      for (const s of this.#wild) if (tokensMatch(s.tokens, tokens)) matched.push(s);
    }
    if (matched.length === 0) return 0;

    const targets: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const s of matched) {
      if (!s.queue) targets.push(s);
      else {
        const g = groups.get(s.queue) ?? [];
        g.push(s);
        groups.set(s.queue, g);
      }
    }
    for (const [queue, members] of groups) {
      const next = ((this.#queueCursor.get(queue) ?? -1) + 1) % members.length;
      this.#queueCursor.set(queue, next);
      targets.push(members[next]!);
    }
    const frozen = Object.freeze({ ...headers });
    for (const s of targets) {
      const msg: Msg = {
        subject,
        data,
        headers: frozen,
        ...(reply ? { reply } : {}),
        respond: (answer, answerHeaders = EMPTY) => {
          if (!reply) throw new UnavailableError(`message on ${subject} expects no reply`);
          if (!this.#closed) this.#deliver(reply, answer, answerHeaders, undefined);
        },
      };
      queueMicrotask(() => {
        if (s.active) s.handler(msg);
      });
    }
    return targets.length;
  }

  #assertOpen(): void {
    if (this.#closed) throw new UnavailableError('the bus is closed');
  }
}
