/**
 * Durable streams for messages that must not be lost (learning events,
 * alerts): JetStream semantics — publish with an idempotency key, durable
 * consumers with explicit acks, at-least-once delivery in stream order. One
 * adapter over JetStream, one table-backed on the drizzle database; both pass
 * streams.contract.ts.
 *
 * At-least-once means redeliveries happen (a consumer restarted, an ack lost,
 * an ack wait missed): handlers must be idempotent, keyed on `msgId`.
 */
import { BadRequestError } from '../../actors/errors';
import { assertPattern } from '../bus/subjects';

export interface StreamConfig {
  /** Letters, digits, `_` and `-`. */
  name: string;
  /** Subjects (wildcards allowed) the stream captures; must not overlap another stream's. */
  subjects: string[];
  /**
   * How long a `msgId` is remembered for de-duplication. JetStream forgets it
   * after this window; the SQL store remembers it as long as the message is
   * kept (at least this long). Must not exceed `maxAgeMs`.
   */
  duplicateWindowMs: number;
  /** Messages older than this are discarded; absent = kept forever. */
  maxAgeMs?: number;
}

export interface StreamMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The idempotency key it was published with. */
  readonly msgId: string;
  /** Position in the stream, from 1, gapless. */
  readonly seq: number;
  /** 1 on first delivery; 2 on the first redelivery… */
  readonly deliveryCount: number;
  /**
   * Done with the message: resolves when the ack is recorded — confirmed by
   * the server on JetStream; on SQL, the consumer's ack floor is written when
   * the ack extends the acked prefix (an ack above a gap is kept in memory
   * until the gap closes). The first ack/nak of a delivery wins; later calls
   * on the same delivery are no-ops.
   */
  ack(): Promise<void>;
  /** Not done: redeliver after `delayMs` (default: at once). */
  nak(delayMs?: number): void;
}

export interface ConsumeOptions {
  stream: string;
  /** The consumer's durable name: its position survives restarts. Same rules as a stream name. */
  durable: string;
  /** Only messages on matching subjects; must lie within the stream's subjects. */
  filterSubject?: string;
  /**
   * A delivery not acked within this time is redelivered. The clock starts
   * when the handler receives the message.
   */
  ackWaitMs: number;
  /** Deliveries after which an unacked message is given up on; absent = no limit. */
  maxDeliver?: number;
  /**
   * Messages fetched ahead per pull (JetStream `max_messages`, SQL rows per
   * query); absent = the adapter's default. Batching consumers raise it.
   */
  prefetch?: number;
}

export interface Consumption {
  /** Stops fetching, waits for the running handler; unacked messages are redelivered to the next consumer. */
  stop(): Promise<void>;
}

export interface DurableStreams {
  /** Creates the stream or brings its config up to date; idempotent. BadRequestError on an invalid or overlapping config. */
  ensureStream(config: StreamConfig): Promise<void>;
  /**
   * Appends to the stream that captures `subject` (NotFoundError if none).
   * A `msgId` already stored (within the duplicate window) is not stored
   * again: `duplicate: true` with the original's `seq`.
   */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<{ seq: number; duplicate: boolean }>;
  /**
   * Starts (creating or updating it) the durable consumer and delivers to
   * `handler` one message at a time, in stream order; redeliveries come first
   * once due. A handler that throws has nak'd. Rejects with NotFoundError for
   * an unknown stream, BadRequestError for bad options, LockedError when this
   * instance already runs that durable.
   */
  consume(options: ConsumeOptions, handler: (msg: StreamMsg) => Promise<void>): Promise<Consumption>;
  /** Deletes the stream, its messages and consumers; false when it did not exist. */
  deleteStream(name: string): Promise<boolean>;
  /** Stops every consumption of this instance and releases what it owns. */
  close(): Promise<void>;
}

// The contract's input rules, shared by the adapters so both refuse the same things.

const NAME = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_MSG_ID = 256;

export function assertStreamName(name: string, what = 'stream name'): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new BadRequestError(`invalid ${what} "${name}": 1–128 letters, digits, _ or -`);
  }
}

export function assertMsgId(msgId: string): void {
  if (typeof msgId !== 'string' || msgId.length === 0 || msgId.length > MAX_MSG_ID || /[\x00-\x1f\x7f]/.test(msgId)) {
    throw new BadRequestError(`invalid msgId: 1–${MAX_MSG_ID} characters without control characters are required`);
  }
}

function assertPositiveInt(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new BadRequestError(`${what} must be a positive integer, got ${String(value)}`);
}

export function assertStreamConfig(config: StreamConfig): void {
  assertStreamName(config.name);
  if (!Array.isArray(config.subjects) || config.subjects.length === 0) throw new BadRequestError(`stream ${config.name} needs at least one subject`);
  config.subjects.forEach((s) => assertPattern(s));
  config.subjects.forEach((a, i) =>
    config.subjects.slice(i + 1).forEach((b) => {
      if (patternsOverlap(a, b)) throw new BadRequestError(`stream ${config.name}: subjects "${a}" and "${b}" overlap`);
    }),
  );
  assertPositiveInt(config.duplicateWindowMs, 'duplicateWindowMs');
  if (config.maxAgeMs !== undefined) {
    assertPositiveInt(config.maxAgeMs, 'maxAgeMs');
    if (config.duplicateWindowMs > config.maxAgeMs) throw new BadRequestError(`stream ${config.name}: duplicateWindowMs exceeds maxAgeMs`);
  }
}

export function assertConsumeOptions(options: ConsumeOptions): void {
  assertStreamName(options.stream);
  assertStreamName(options.durable, 'durable name');
  if (options.filterSubject !== undefined) assertPattern(options.filterSubject);
  assertPositiveInt(options.ackWaitMs, 'ackWaitMs');
  if (options.maxDeliver !== undefined) assertPositiveInt(options.maxDeliver, 'maxDeliver');
  if (options.prefetch !== undefined) assertPositiveInt(options.prefetch, 'prefetch');
}

/** Whether some subject matches both patterns (`*` one token, final `>` one or more). */
export function patternsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const s = x[i];
    const t = y[i];
    if (s === undefined || t === undefined) return s === t;
    if (s === '>' || t === '>') return true;
    if (s !== '*' && t !== '*' && s !== t) return false;
  }
}

/** Whether every subject `inner` matches also matches `outer`. */
export function patternWithin(inner: string, outer: string): boolean {
  const x = inner.split('.');
  const y = outer.split('.');
  for (let i = 0; ; i++) {
    const s = x[i];
    const t = y[i];
    if (s === undefined || t === undefined) return s === t;
    if (t === '>') return true;
    if (s === '>') return false;
    if (t !== '*' && (s === '*' || s !== t)) return false;
  }
}
