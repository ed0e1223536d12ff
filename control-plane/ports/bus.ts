/**
 * Subject-addressed messaging: NATS core semantics (wildcards `*` and `>`,
 * queue groups, request/reply with timeouts, a no-responders error). One
 * adapter over nats.js, one in-process; both pass bus.contract.ts.
 */
export type Headers = Readonly<Record<string, string>>;

export interface Msg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  /** Set when the sender waits for an answer. */
  readonly reply?: string;
  respond(data: Uint8Array, headers?: Headers): void;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface SubscribeOptions {
  /** Members of one queue group share the messages: each goes to one member. */
  queue?: string;
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: Headers;
}

export interface Bus {
  /** Largest payload the bus carries; larger ones are refused before sending. */
  readonly maxPayload: number;
  publish(subject: string, data: Uint8Array, headers?: Headers): void;
  subscribe(subject: string, handler: (msg: Msg) => void, options?: SubscribeOptions): Subscription;
  /** Rejects with BusNoRespondersError or BusTimeoutError. */
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Msg>;
  /** Resolves when everything published so far has reached the server. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
