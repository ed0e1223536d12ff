import { and, asc, eq, gt, lt, lte, sql } from 'drizzle-orm';
import { BadRequestError, LockedError, NotFoundError, PayloadTooLargeError, UnavailableError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { streamConsumers, streamMessages, streams } from '../../db/schema';
import { assertPublishSubject, subjectMatches } from '../bus/subjects';
import { FOREIGN_KEY_VIOLATION, pgErrorCode } from '../db-errors';
import {
  assertConsumeOptions,
  assertMsgId,
  assertStreamConfig,
  assertStreamName,
  patternsOverlap,
  patternWithin,
  type ConsumeOptions,
  type Consumption,
  type DurableStreams,
  type StreamConfig,
  type StreamMsg,
} from '../ports/stream';

export interface SqlStreamsOptions {
  /** How often an idle consumer looks for messages published by other processes (same-process publishes wake it at once). */
  pollMs?: number;
  /** Largest payload accepted, as NATS's default max_payload. */
  maxPayload?: number;
  /** Messages fetched per query. */
  batchSize?: number;
}

// Serializes stream creation so the overlap check cannot race.
const STREAMS_LOCK_KEY = 74_201_003;
const ERROR_BACKOFF_MS = 250;
const PRUNE_EVERY_MS = 1_000;
// As JetStream's default max_ack_pending: no new deliveries while this many wait for an ack.
const MAX_ACK_PENDING = 1_000;

interface Row {
  seq: number;
  subject: string;
  msgId: string;
  data: Uint8Array;
}

/**
 * DurableStreams on the drizzle database (PGlite or Postgres): nothing is
 * lost across restarts.
 *
 * - Sequences come from the stream row's `last_seq`, locked (`FOR UPDATE`)
 *   for the publishing transaction: gapless under concurrent publishers, and
 *   committed in order, so a reader that sees seq n sees everything before it.
 * - De-duplication: a msgId is stored once per stream for as long as its
 *   message is kept (unique index), i.e. at least `duplicateWindowMs`, and
 *   "forever" when the stream has no `maxAgeMs`. Stricter than JetStream,
 *   which forgets ids after the window.
 * - Consumers keep delivery state (pending acks, delivery counts, ack-wait
 *   deadlines) in memory and persist the ack floor — the contiguous prefix
 *   acked or given up on. A restarted consumer resumes after the floor, so
 *   out-of-order acks above it, and delivery counts, are not remembered:
 *   those messages come again with deliveryCount 1.
 * - One running consumer per durable: this instance refuses a second one
 *   (LockedError); another process running the same durable would get the
 *   same messages (still at-least-once, but duplicated work).
 */
export class SqlStreams implements DurableStreams {
  readonly #pollMs: number;
  readonly #maxPayload: number;
  readonly #batchSize: number;
  /** name → subjects; refreshed from the table on a miss. */
  #routes: Map<string, string[]> | null = null;
  readonly #consumers = new Map<string, SqlConsumer>();
  readonly #lastPrune = new Map<string, number>();
  #closed = false;

  constructor(
    private readonly db: Db,
    options: SqlStreamsOptions = {},
  ) {
    this.#pollMs = options.pollMs ?? 50;
    this.#maxPayload = options.maxPayload ?? 1024 * 1024;
    this.#batchSize = options.batchSize ?? 100;
  }

  async ensureStream(config: StreamConfig): Promise<void> {
    this.#assertOpen();
    assertStreamConfig(config);
    const subjects = [...config.subjects];
    await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      await tx.execute(sql`select pg_advisory_xact_lock(${STREAMS_LOCK_KEY})`);
      const others = await tx.select({ name: streams.name, subjects: streams.subjects }).from(streams);
      for (const other of others) {
        if (other.name === config.name) continue;
        const clash = subjects.find((s) => other.subjects.some((o) => patternsOverlap(s, o)));
        if (clash) throw new BadRequestError(`subject "${clash}" of stream ${config.name} overlaps with stream ${other.name}`);
      }
      const values = { duplicateWindowMs: config.duplicateWindowMs, maxAgeMs: config.maxAgeMs ?? null, subjects };
      await tx
        .insert(streams)
        .values({ name: config.name, ...values })
        .onConflictDoUpdate({ target: streams.name, set: { ...values, updatedAt: new Date() } });
    });
    this.#routes?.set(config.name, subjects);
  }

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<{ seq: number; duplicate: boolean }> {
    this.#assertOpen();
    assertPublishSubject(subject);
    assertMsgId(msgId);
    if (data.byteLength > this.#maxPayload) throw new PayloadTooLargeError(`message of ${data.byteLength} bytes exceeds the maximum of ${this.#maxPayload}`);
    // A cached route may be stale (stream deleted or changed elsewhere): checked under the lock, retried once from the table.
    for (let attempt = 0; attempt < 2; attempt++) {
      const name = await this.#route(subject, attempt > 0);
      if (!name) break;
      const result = await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        const [stream] = await tx
          .select({ lastSeq: streams.lastSeq, subjects: streams.subjects, maxAgeMs: streams.maxAgeMs })
          .from(streams)
          .where(eq(streams.name, name))
          .for('update');
        if (!stream || !stream.subjects.some((p) => subjectMatches(p, subject))) return null;
        const [dup] = await tx
          .select({ seq: streamMessages.seq })
          .from(streamMessages)
          .where(and(eq(streamMessages.stream, name), eq(streamMessages.msgId, msgId)))
          .limit(1);
        if (dup) return { seq: dup.seq, duplicate: true, maxAgeMs: stream.maxAgeMs };
        const seq = stream.lastSeq + 1;
        await tx.update(streams).set({ lastSeq: seq }).where(eq(streams.name, name));
        await tx.insert(streamMessages).values({ stream: name, seq, subject, msgId, data });
        return { seq, duplicate: false, maxAgeMs: stream.maxAgeMs };
      });
      if (!result) continue;
      if (!result.duplicate) for (const c of this.#consumers.values()) if (c.stream === name) c.wake();
      // The message is stored: a failed clean-up must not fail the publish (the next one retries it).
      if (result.maxAgeMs !== null) await this.#prune(name, result.maxAgeMs).catch(() => undefined);
      return { seq: result.seq, duplicate: result.duplicate };
    }
    throw new NotFoundError(`no stream captures subject ${subject}`);
  }

  async consume(options: ConsumeOptions, handler: (msg: StreamMsg) => Promise<void>): Promise<Consumption> {
    this.#assertOpen();
    assertConsumeOptions(options);
    const key = `${options.stream}\u0000${options.durable}`;
    if (this.#consumers.has(key)) throw new LockedError(`consumer ${options.durable} on stream ${options.stream} is already running here`);
    const [stream] = await this.db.select({ subjects: streams.subjects }).from(streams).where(eq(streams.name, options.stream));
    if (!stream) throw new NotFoundError(`stream ${options.stream} not found`);
    const filter = options.filterSubject;
    if (filter !== undefined && !stream.subjects.some((s) => patternWithin(filter, s))) {
      throw new BadRequestError(`filter subject ${filter} is not within the subjects of stream ${options.stream}`);
    }
    const config = { filterSubject: filter ?? null, ackWaitMs: options.ackWaitMs, maxDeliver: options.maxDeliver ?? null };
    let row: { ackFloor: number } | undefined;
    try {
      [row] = await this.db
        .insert(streamConsumers)
        .values({ stream: options.stream, durable: options.durable, ...config })
        .onConflictDoUpdate({ target: [streamConsumers.stream, streamConsumers.durable], set: { ...config, updatedAt: new Date() } })
        .returning({ ackFloor: streamConsumers.ackFloor });
    } catch (err) {
      if (pgErrorCode(err) === FOREIGN_KEY_VIOLATION) throw new NotFoundError(`stream ${options.stream} not found`, { cause: err });
      throw err;
    }
    if (this.#consumers.has(key)) throw new LockedError(`consumer ${options.durable} on stream ${options.stream} is already running here`);
    const consumer = new SqlConsumer(this.db, options, row!.ackFloor, handler, this.#pollMs, options.prefetch ?? this.#batchSize);
    this.#consumers.set(key, consumer);
    consumer.start();
    return {
      stop: async () => {
        await consumer.stop();
        if (this.#consumers.get(key) === consumer) this.#consumers.delete(key);
      },
    };
  }

  async deleteStream(name: string): Promise<boolean> {
    this.#assertOpen();
    assertStreamName(name);
    // Messages and consumers go with it (ON DELETE CASCADE).
    const deleted = await this.db.delete(streams).where(eq(streams.name, name)).returning({ name: streams.name });
    this.#routes?.delete(name);
    return deleted.length > 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers.values()].map((c) => c.stop()));
    this.#consumers.clear();
  }

  async #route(subject: string, refresh: boolean): Promise<string | undefined> {
    const find = () => [...this.#routes!].find(([, subjects]) => subjects.some((p) => subjectMatches(p, subject)))?.[0];
    if (this.#routes && !refresh) {
      const hit = find();
      if (hit) return hit;
    }
    const rows = await this.db.select({ name: streams.name, subjects: streams.subjects }).from(streams);
    this.#routes = new Map(rows.map((r) => [r.name, r.subjects]));
    return find();
  }

  /** Age-based retention, run by publishes: at most every half max age (0.1–1 s) per stream and process. */
  async #prune(name: string, maxAgeMs: number): Promise<void> {
    const now = Date.now();
    const every = Math.min(PRUNE_EVERY_MS, Math.max(100, maxAgeMs / 2));
    if (now - (this.#lastPrune.get(name) ?? 0) < every) return;
    this.#lastPrune.set(name, now);
    await this.db
      .delete(streamMessages)
      .where(and(eq(streamMessages.stream, name), lt(streamMessages.publishedAt, sql`now() - make_interval(secs => ${maxAgeMs / 1000})`)));
  }

  #assertOpen(): void {
    if (this.#closed) throw new UnavailableError('the streams adapter is closed');
  }
}

interface Pending {
  row: Row;
  deliveries: number;
  /** When it is (re)delivered unless acked first. */
  dueAt: number;
}

/** One running durable consumer: a single loop delivering one message at a time. */
class SqlConsumer {
  readonly stream: string;
  /** Highest seq read from the table (delivered, buffered or filtered out). */
  #scanned: number;
  #floorWritten: number;
  /** Read, not yet delivered, in seq order; all above every pending seq. */
  #buffer: Row[] = [];
  /** Delivered, not acked; insertion order is seq order. */
  readonly #pending = new Map<number, Pending>();
  readonly #filterRe: string | null;
  #stopped = false;
  #loop: Promise<void> | null = null;
  #wakeUp: (() => void) | null = null;
  #woken = false;

  constructor(
    private readonly db: Db,
    private readonly options: ConsumeOptions,
    ackFloor: number,
    private readonly handler: (msg: StreamMsg) => Promise<void>,
    private readonly pollMs: number,
    private readonly batchSize: number,
  ) {
    this.stream = options.stream;
    this.#scanned = ackFloor;
    this.#floorWritten = ackFloor;
    this.#filterRe = options.filterSubject === undefined ? null : patternRegex(options.filterSubject);
  }

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
  }

  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const due = this.#nextDue();
        if (due) {
          await this.#deliver(due);
          continue;
        }
        if (this.#pending.size >= MAX_ACK_PENDING) {
          await this.#idle();
          continue;
        }
        if (this.#buffer.length === 0) await this.#fetch();
        const row = this.#buffer.shift();
        if (row) {
          const p: Pending = { row, deliveries: 0, dueAt: 0 };
          this.#pending.set(row.seq, p);
          await this.#deliver(p);
          continue;
        }
        await this.#idle();
      } catch {
        // The database is unreachable or the query failed: nothing is lost, try again shortly.
        if (!this.#stopped) await this.#sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  /** The lowest-seq pending message whose ack wait (or nak delay) is over; gives up on exhausted ones. */
  #nextDue(): Pending | undefined {
    const now = Date.now();
    for (const p of this.#pending.values()) {
      if (p.dueAt > now) continue;
      if (this.options.maxDeliver !== undefined && p.deliveries >= this.options.maxDeliver) {
        this.#pending.delete(p.row.seq);
        void this.#advance().catch(() => undefined);
        continue;
      }
      return p;
    }
    return undefined;
  }

  async #deliver(p: Pending): Promise<void> {
    p.deliveries += 1;
    p.dueAt = Date.now() + this.options.ackWaitMs;
    const delivery = p.deliveries;
    let settled = false;
    const { row } = p;
    const msg: StreamMsg = {
      subject: row.subject,
      data: row.data,
      msgId: row.msgId,
      seq: row.seq,
      deliveryCount: delivery,
      ack: async () => {
        if (settled) return;
        settled = true;
        await this.#ack(p);
      },
      nak: (delayMs = 0) => {
        if (settled) return;
        settled = true;
        // Only the latest delivery may reschedule; an ack of any delivery counts.
        if (this.#pending.get(row.seq) !== p || p.deliveries !== delivery) return;
        p.dueAt = Date.now() + Math.max(0, delayMs);
        this.wake();
      },
    };
    try {
      await this.handler(msg);
    } catch {
      msg.nak();
    }
  }

  async #ack(p: Pending): Promise<void> {
    // Accepted even after stop(): everything up to the floor it writes was acked here.
    if (this.#pending.get(p.row.seq) !== p) return;
    if (this.#pending.size >= MAX_ACK_PENDING) this.wake();
    this.#pending.delete(p.row.seq);
    try {
      await this.#advance();
    } catch (err) {
      throw new UnavailableError(`ack of ${this.stream}#${p.row.seq} not recorded; it may be redelivered`, { cause: err });
    }
  }

  /** Persists the ack floor when it moved: everything below the first outstanding message. */
  async #advance(): Promise<void> {
    const first = this.#pending.keys().next();
    const floor = !first.done ? first.value - 1 : this.#buffer.length ? this.#buffer[0]!.seq - 1 : this.#scanned;
    if (floor <= this.#floorWritten) return;
    await this.db
      .update(streamConsumers)
      .set({ ackFloor: floor, updatedAt: new Date() })
      .where(and(eq(streamConsumers.stream, this.stream), eq(streamConsumers.durable, this.options.durable), lt(streamConsumers.ackFloor, floor)));
    this.#floorWritten = Math.max(this.#floorWritten, floor);
  }

  async #fetch(): Promise<void> {
    // The counter first: every seq up to it is committed, so messages the filter skips can be passed over safely.
    const [stream] = await this.db.select({ lastSeq: streams.lastSeq }).from(streams).where(eq(streams.name, this.stream));
    if (!stream || stream.lastSeq <= this.#scanned) return;
    const conditions = [eq(streamMessages.stream, this.stream), gt(streamMessages.seq, this.#scanned), lte(streamMessages.seq, stream.lastSeq)];
    if (this.#filterRe) conditions.push(sql`${streamMessages.subject} ~ ${this.#filterRe}`);
    const rows = await this.db
      .select({ seq: streamMessages.seq, subject: streamMessages.subject, msgId: streamMessages.msgId, data: streamMessages.data })
      .from(streamMessages)
      .where(and(...conditions))
      .orderBy(asc(streamMessages.seq))
      .limit(this.batchSize);
    this.#buffer.push(...rows);
    this.#scanned = rows.length === this.batchSize ? rows[rows.length - 1]!.seq : stream.lastSeq;
    // Filtered-out or expired messages may move the floor.
    await this.#advance();
  }

  /** Until a publish here, the next poll, or the next pending deadline. */
  async #idle(): Promise<void> {
    let wait = this.pollMs;
    const now = Date.now();
    for (const p of this.#pending.values()) wait = Math.min(wait, Math.max(0, p.dueAt - now));
    await this.#sleep(wait);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopped) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = null;
        this.#woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeUp = done;
    });
  }
}

/** A NATS subject pattern as an anchored POSIX regex (`*` one token, `>` the rest). */
function patternRegex(pattern: string): string {
  const tokens = pattern.split('.').map((t) => (t === '*' ? '[^.]+' : t === '>' ? '.+' : t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return `^${tokens.join('\\.')}$`;
}
