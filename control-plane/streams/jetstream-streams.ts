import {
  AckPolicy,
  DeliverPolicy,
  ErrorCode,
  NatsError,
  ReplayPolicy,
  StorageType,
  nanos,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { BadRequestError, LockedError, NotFoundError, PayloadTooLargeError, TollgateError, UnavailableError } from '../../actors/errors';
import { assertPublishSubject } from '../bus/subjects';
import {
  assertConsumeOptions,
  assertMsgId,
  assertStreamConfig,
  assertStreamName,
  type ConsumeOptions,
  type Consumption,
  type DurableStreams,
  type StreamConfig,
  type StreamMsg,
} from '../ports/stream';

export interface JetStreamStreamsOptions {
  /** close() drains the connection (default true); false when it is shared, e.g. with a NatsBus. */
  ownsConnection?: boolean;
  /** Messages pulled ahead per consumer; their ack wait restarts when the handler gets them. */
  batch?: number;
}

// JetStream API error codes (nats-server's errors.json).
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NAME_IN_USE = 10058; // same name, other config
const INVALID_STREAM_CONFIG = 10052;
const ERROR_BACKOFF_MS = 250;
// nats.js sets it from the publish option `msgID` (its PubHeaders enum is not exported).
const MSG_ID_HEADER = 'Nats-Msg-Id';

function apiCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

/** Maps nats.js failures to the domain's typed errors. */
function translate(err: unknown, what: string): Error {
  if (err instanceof TollgateError) return err;
  if (err instanceof NatsError) {
    const api = err.api_error;
    if (api?.err_code === STREAM_NOT_FOUND || api?.err_code === CONSUMER_NOT_FOUND) return new NotFoundError(`${what}: ${api.description}`, { cause: err });
    if (api && (api.code === 400 || api.err_code === INVALID_STREAM_CONFIG)) return new BadRequestError(`${what}: ${api.description}`, { cause: err });
    if (err.code === ErrorCode.MaxPayloadExceeded) return new PayloadTooLargeError(`${what}: ${err.message}`, { cause: err });
    return new UnavailableError(`${what}: JetStream: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * DurableStreams over JetStream: file-backed streams, publishes de-duplicated
 * by `Nats-Msg-Id` within the stream's duplicate window (the server answers a
 * duplicate with the original's seq), durable pull consumers with explicit
 * acks. Delivery counts and the ack floor live on the server.
 */
export class JetStreamStreams implements DurableStreams {
  readonly #js: JetStreamClient;
  #jsm: Promise<JetStreamManager> | null = null;
  readonly #running = new Map<string, JsConsumption>();
  readonly #ownsConnection: boolean;
  readonly #batch: number;
  #closed = false;

  constructor(
    private readonly nc: NatsConnection,
    options: JetStreamStreamsOptions = {},
  ) {
    this.#js = nc.jetstream();
    this.#ownsConnection = options.ownsConnection ?? true;
    this.#batch = options.batch ?? 16;
  }

  async ensureStream(config: StreamConfig): Promise<void> {
    this.#assertOpen();
    assertStreamConfig(config);
    const jsm = await this.#manager();
    const settings = {
      subjects: [...config.subjects],
      duplicate_window: nanos(config.duplicateWindowMs),
      max_age: config.maxAgeMs === undefined ? 0 : nanos(config.maxAgeMs),
    };
    try {
      // Adding an existing stream with the same config is a no-op on the server.
      await jsm.streams.add({ name: config.name, storage: StorageType.File, ...settings });
    } catch (err) {
      if (apiCode(err) !== STREAM_NAME_IN_USE) throw translate(err, `stream ${config.name}`);
      try {
        await jsm.streams.update(config.name, settings);
      } catch (updateErr) {
        throw translate(updateErr, `stream ${config.name}`);
      }
    }
  }

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<{ seq: number; duplicate: boolean }> {
    this.#assertOpen();
    assertPublishSubject(subject);
    // nats.js silently drops an empty msgID: the message would not be de-duplicated.
    assertMsgId(msgId);
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    if (data.byteLength > max) throw new PayloadTooLargeError(`message of ${data.byteLength} bytes exceeds the server maximum of ${max}`);
    try {
      const ack = await this.#js.publish(subject, data, { msgID: msgId });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      // "No responders": no stream captures the subject — or JetStream is down. Ask which.
      if (err instanceof NatsError && err.code === ErrorCode.NoResponders && !(await this.#captured(subject))) {
        throw new NotFoundError(`no stream captures subject ${subject}`, { cause: err });
      }
      throw translate(err, `publish to ${subject}`);
    }
  }

  async consume(options: ConsumeOptions, handler: (msg: StreamMsg) => Promise<void>): Promise<Consumption> {
    this.#assertOpen();
    assertConsumeOptions(options);
    const key = `${options.stream}\u0000${options.durable}`;
    const what = `consumer ${options.durable} on stream ${options.stream}`;
    if (this.#running.has(key)) throw new LockedError(`${what} is already running here`);
    let consumer: Consumer;
    try {
      const jsm = await this.#manager();
      // Creates the durable, or updates it (ack wait, max deliver, filter) to these options.
      await jsm.consumers.add(options.stream, {
        durable_name: options.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        replay_policy: ReplayPolicy.Instant,
        ack_wait: nanos(options.ackWaitMs),
        max_deliver: options.maxDeliver ?? -1,
        ...(options.filterSubject !== undefined ? { filter_subject: options.filterSubject } : {}),
      });
      consumer = await this.#js.consumers.get(options.stream, options.durable);
    } catch (err) {
      throw translate(err, what);
    }
    if (this.#running.has(key)) throw new LockedError(`${what} is already running here`);
    const running = new JsConsumption(consumer, handler, options.prefetch ?? this.#batch);
    this.#running.set(key, running);
    return {
      stop: async () => {
        await running.stop();
        if (this.#running.get(key) === running) this.#running.delete(key);
      },
    };
  }

  async deleteStream(name: string): Promise<boolean> {
    this.#assertOpen();
    assertStreamName(name);
    try {
      return await (await this.#manager()).streams.delete(name);
    } catch (err) {
      if (apiCode(err) === STREAM_NOT_FOUND) return false;
      throw translate(err, `stream ${name}`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#running.values()].map((r) => r.stop()));
    this.#running.clear();
    if (this.#ownsConnection && !this.nc.isClosed()) await this.nc.drain();
  }

  #manager(): Promise<JetStreamManager> {
    if (!this.#jsm) {
      this.#jsm = this.nc.jetstreamManager();
      this.#jsm.catch(() => (this.#jsm = null)); // retried on next use
    }
    return this.#jsm.catch((err) => {
      throw translate(err, 'JetStream');
    });
  }

  /** Whether some stream captures `subject`; true when that cannot be told (JetStream unreachable). */
  async #captured(subject: string): Promise<boolean> {
    try {
      const jsm = await this.#manager();
      for await (const _ of jsm.streams.names(subject)) return true;
      return false;
    } catch {
      return true;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new UnavailableError('the streams adapter is closed');
  }
}

/** One running pull consumer: messages handled one at a time, in arrival order. */
class JsConsumption {
  #stopped = false;
  #messages: ConsumerMessages | null = null;
  readonly #loop: Promise<void>;

  constructor(
    private readonly consumer: Consumer,
    private readonly handler: (msg: StreamMsg) => Promise<void>,
    private readonly batch: number,
  ) {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      // Ends the iteration after the running handler; messages pulled but not
      // handled stay unacked on the server and are redelivered after ack wait.
      // Not awaited: close() resolves only once the iterator processes its stop,
      // which never happens when the loop broke out on #stopped first (a
      // message arriving while stopping) — the loop's end is what counts.
      void this.#messages?.close().catch(() => undefined);
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const messages = await this.consumer.consume({ max_messages: this.batch });
        this.#messages = messages;
        if (this.#stopped) {
          await messages.close();
          break;
        }
        for await (const m of messages) {
          if (this.#stopped) break;
          await this.#handle(m);
        }
      } catch {
        // Connection trouble: nats.js reconnects; pull again shortly.
        if (!this.#stopped) await sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  async #handle(m: JsMsg): Promise<void> {
    // The ack wait ran since the server sent it; restart it now the handler has it.
    m.working();
    let settled = false;
    const msg: StreamMsg = {
      subject: m.subject,
      data: m.data,
      msgId: m.headers?.get(MSG_ID_HEADER) ?? '',
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
      ack: async () => {
        if (settled) return;
        settled = true;
        try {
          await m.ackAck();
        } catch (err) {
          throw new UnavailableError(`ack of ${m.info.stream}#${m.seq} not confirmed; it may be redelivered`, { cause: err });
        }
      },
      nak: (delayMs) => {
        if (settled) return;
        settled = true;
        m.nak(delayMs && delayMs > 0 ? delayMs : undefined);
      },
    };
    try {
      await this.handler(msg);
    } catch {
      msg.nak();
    }
  }
}
