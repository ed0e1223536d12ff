import { ErrorCode, headers as natsHeaders, type MsgHdrs, type Msg as NatsMsg, type NatsConnection, NatsError } from 'nats';
import { NoRespondersError, PayloadTooLargeError, RequestTimeoutError, UnavailableError } from '../../actors/errors';
import type { Bus, Headers, Msg, RequestOptions, SubscribeOptions, Subscription } from '../ports/bus';
import { assertPattern, assertPublishSubject } from './subjects';

const EMPTY: Headers = Object.freeze({});

function toNatsHeaders(h: Headers | undefined): MsgHdrs | undefined {
  if (!h) return undefined;
  const keys = Object.keys(h);
  if (keys.length === 0) return undefined;
  const out = natsHeaders();
  for (const k of keys) out.set(k, h[k]!);
  return out;
}

function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  if (!h) return EMPTY;
  const out: Record<string, string> = {};
  for (const [k, v] of h) if (v[0] !== undefined) out[k] = v[0];
  return out;
}

function wrap(m: NatsMsg): Msg {
  return {
    subject: m.subject,
    data: m.data,
    headers: fromNatsHeaders(m.headers),
    ...(m.reply ? { reply: m.reply } : {}),
    respond: (data, h) => {
      if (!m.reply) throw new UnavailableError(`message on ${m.subject} expects no reply`);
      m.respond(data, { headers: toNatsHeaders(h) });
    },
  };
}

/** Maps nats.js failures to the domain's typed errors. */
function translate(err: unknown, subject: string): Error {
  if (err instanceof NatsError) {
    if (err.code === ErrorCode.NoResponders) return new NoRespondersError(`no responders on ${subject}`, { cause: err });
    if (err.code === ErrorCode.Timeout) return new RequestTimeoutError(`no reply on ${subject} in time`, { cause: err });
    if (err.code === ErrorCode.MaxPayloadExceeded) return new PayloadTooLargeError(err.message, { cause: err });
    return new UnavailableError(`NATS: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The Bus over a nats.js connection (reconnects are nats.js's job). */
export class NatsBus implements Bus {
  constructor(private readonly nc: NatsConnection) {}

  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  publish(subject: string, data: Uint8Array, headers?: Headers): void {
    assertPublishSubject(subject);
    if (data.byteLength > this.maxPayload) throw new PayloadTooLargeError(`message of ${data.byteLength} bytes exceeds the bus maximum of ${this.maxPayload}`);
    try {
      this.nc.publish(subject, data, { headers: toNatsHeaders(headers) });
    } catch (err) {
      throw translate(err, subject);
    }
  }

  subscribe(subject: string, handler: (msg: Msg) => void, options: SubscribeOptions = {}): Subscription {
    assertPattern(subject);
    const sub = this.nc.subscribe(subject, {
      ...(options.queue ? { queue: options.queue } : {}),
      callback: (err, m) => {
        if (!err) handler(wrap(m));
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Msg> {
    assertPublishSubject(subject);
    if (data.byteLength > this.maxPayload) throw new PayloadTooLargeError(`message of ${data.byteLength} bytes exceeds the bus maximum of ${this.maxPayload}`);
    try {
      return wrap(await this.nc.request(subject, data, { timeout: options.timeoutMs, headers: toNatsHeaders(options.headers) }));
    } catch (err) {
      throw translate(err, subject);
    }
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}
