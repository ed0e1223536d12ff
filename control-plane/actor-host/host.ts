import type { Logger } from 'pino';
import type { ActorMessage, Behaviour, Step } from '../../actors/actor';
import { BadRequestError, DeadLetteredError, PayloadTooLargeError, RevisionConflictError, TollgateError, UnavailableError } from '../../actors/errors';
import type { ActorStore, TimerChanges, TimerRecord } from '../ports/actor-store';
import type { Bus, Msg, Subscription } from '../ports/bus';
import type { Clock } from '../ports/clock';
import { decodeJson, encodeJson, errorReply, okReply } from './protocol';
import { shardOf, type ShardOwnership } from './shards';
import type { Context } from '@opentelemetry/api';
import { extractHeaders, inSpan, SpanKind } from '../observability/tracing';

/** A port the behaviours may call through `call` effects. */
export type PortHandler = (
  op: string,
  args: unknown,
  actor: { kind: string; id: string },
) => Promise<{ result: unknown; events?: Array<{ tenantId: string; type: string; data: unknown }> }>;

export interface HostMetrics {
  processed(kind: string, ms: number): void;
  crashed(kind: string): void;
  deadLettered(kind: string): void;
}

export interface HostOptions {
  bus: Bus;
  store: ActorStore;
  clock: Clock;
  log: Logger;
  ports?: Record<string, PortHandler>;
  metrics?: HostMetrics;
  /** First token of every subject (tests use their own for isolation). */
  prefix?: string;
  queueGroup?: string;
  /** Idle actors are dropped from memory after this long. */
  passivateAfterMs?: number;
  /** Attempts before a crashing message is dead-lettered. */
  maxAttempts?: number;
  /** Delay before each retry after a crash, in ms. */
  backoffMs?: readonly number[];
  /**
   * Times a message is redone after another node wrote the actor first
   * (reload, step again, save again), each after a short random delay.
   */
  maxConflictRetries?: number;
  /** Largest command accepted, in bytes. */
  maxMessageBytes?: number;
  /**
   * With several nodes: the shards this node runs. Every node then receives
   * every command and only the owner of the actor's shard handles it, so an
   * actor runs on one node at a time. Absent: a queue group spreads commands
   * (one node only).
   */
  ownership?: ShardOwnership;
}

type ResolvedOptions = Required<Omit<HostOptions, 'metrics' | 'ports' | 'ownership'>> &
  Pick<HostOptions, 'metrics' | 'ownership'> & { ports: Record<string, PortHandler> };

interface QueueItem {
  raw: unknown;
  msg?: Msg;
  timerId?: string;
  /** The sender's trace context (W3C headers on the message), when it sent one. */
  trace?: Context;
}

interface Cell {
  readonly kind: string;
  readonly id: string;
  state: unknown;
  version: number;
  loaded: boolean;
  queue: Array<QueueItem> | null;
  busy: boolean;
  lastActive: number;
}

/**
 * Runs actors: one mailbox per actor, one message at a time in arrival
 * order, different actors concurrently. State is persisted before the reply
 * and the events; a behaviour that throws restarts from its persisted state
 * and the message is retried, then dead-lettered.
 */
export class ActorHost {
  readonly #o: ResolvedOptions;
  readonly #behaviours = new Map<string, Behaviour<unknown>>();
  readonly #cells = new Map<string, Cell>();
  readonly #subs: Subscription[] = [];
  readonly #timers = new Map<string, () => void>();
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #stopped = false;

  constructor(options: HostOptions) {
    this.#o = {
      prefix: 'tg',
      queueGroup: 'tollgate-actors',
      passivateAfterMs: 5 * 60_000,
      maxAttempts: 3,
      backoffMs: [10, 50, 250],
      maxConflictRetries: 8,
      maxMessageBytes: 256 * 1024,
      ports: {},
      ...options,
    } as ResolvedOptions;
  }

  /** Subscribes `<prefix>.<kind>.*.cmd` for a behaviour. */
  register<S, M extends ActorMessage>(behaviour: Behaviour<S, M>): void {
    if (this.#behaviours.has(behaviour.kind)) throw new Error(`actor kind ${behaviour.kind} registered twice`);
    this.#behaviours.set(behaviour.kind, behaviour as unknown as Behaviour<unknown>);
    const pattern = `${this.#o.prefix}.${behaviour.kind}.*.cmd`;
    const options = this.#o.ownership ? {} : { queue: this.#o.queueGroup };
    this.#subs.push(this.#o.bus.subscribe(pattern, (msg) => this.#onBusMessage(behaviour.kind, msg), options));
  }

  /** Re-arms every persisted timer of the actors this node runs (on start-up). */
  async start(): Promise<void> {
    await this.adopt();
  }

  /** Arms the persisted timers of newly owned shards (all owned ones when absent). */
  async adopt(shards?: readonly number[]): Promise<void> {
    const wanted = shards ? new Set(shards) : null;
    for (const t of await this.#o.store.pendingTimers()) {
      if (!this.#behaviours.has(t.kind)) continue;
      const shard = this.#shardOf(t.kind, t.actorId);
      if (wanted ? wanted.has(shard) : this.#owns(t.kind, t.actorId)) this.#arm(t);
    }
  }

  /**
   * Gives up shards (ownership must already say no): waits for their actors'
   * queued messages, then drops the actors and disarms their timers.
   */
  async relinquish(shards: readonly number[]): Promise<void> {
    const lost = new Set(shards);
    const inShard = (kind: string, id: string) => lost.has(this.#shardOf(kind, id));
    for (const [key, cancel] of this.#timers) {
      const [kind, id] = key.split('/') as [string, string];
      if (inShard(kind, id)) {
        cancel();
        this.#timers.delete(key);
      }
    }
    for (;;) {
      const busy = [...this.#cells.values()].filter((c) => inShard(c.kind, c.id) && (c.busy || c.queue?.length));
      if (!busy.length) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const [key, cell] of this.#cells) if (inShard(cell.kind, cell.id)) this.#cells.delete(key);
  }

  #shardOf(kind: string, id: string): number {
    return this.#o.ownership ? shardOf(kind, id, this.#o.ownership.shardCount) : 0;
  }

  #owns(kind: string, id: string): boolean {
    return !this.#o.ownership || this.#o.ownership.owns(this.#shardOf(kind, id));
  }

  /** Loads actors into memory ahead of their first message, in batches. */
  async preload(kind: string, ids: readonly string[]): Promise<void> {
    const behaviour = this.#behaviours.get(kind);
    if (!behaviour) throw new Error(`no actor kind ${kind}`);
    const mine = ids.filter((id) => this.#owns(kind, id));
    const snaps = await this.#o.store.loadMany(kind, mine);
    for (const id of mine) {
      const cell = this.#cell(kind, id);
      if (cell.loaded) continue;
      const snap = snaps.get(id);
      cell.state = snap ? snap.state : behaviour.initial(id);
      cell.version = snap?.version ?? 0;
      cell.loaded = true;
    }
  }

  get resident(): number {
    return this.#cells.size;
  }

  /** Messages waiting in mailboxes (the running ones included): the total and the deepest mailbox. */
  get mailboxes(): { queued: number; deepest: number } {
    let queued = 0;
    let deepest = 0;
    for (const cell of this.#cells.values()) {
      const depth = cell.queue?.length ?? 0;
      queued += depth;
      if (depth > deepest) deepest = depth;
    }
    return { queued, deepest };
  }

  /** The in-memory state of a resident actor (for tests and the console). */
  peek(kind: string, id: string): unknown {
    return this.#cells.get(`${kind}/${id}`)?.state;
  }

  /** Drops actors idle for `passivateAfterMs` from memory. */
  passivateIdle(now = this.#o.clock.now().getTime()): number {
    let dropped = 0;
    for (const [key, cell] of this.#cells) {
      if (!cell.busy && !cell.queue?.length && now - cell.lastActive >= this.#o.passivateAfterMs) {
        this.#cells.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Resolves when no message is queued or running. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking messages, finishes the queued ones, disarms timers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const s of this.#subs) s.unsubscribe();
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    await this.idle();
  }

  #onBusMessage(kind: string, msg: Msg): void {
    const id = msg.subject.slice(this.#o.prefix.length + kind.length + 2, -'.cmd'.length);
    if (!this.#owns(kind, id)) return; // another node runs this actor
    try {
      if (msg.data.byteLength > this.#o.maxMessageBytes) {
        throw new PayloadTooLargeError(`command of ${msg.data.byteLength} bytes exceeds ${this.#o.maxMessageBytes}`);
      }
      const trace = msg.headers.traceparent ? extractHeaders(msg.headers) : undefined;
      this.#enqueue(kind, id, { raw: decodeJson(msg.data), msg, ...(trace ? { trace } : {}) });
    } catch (err) {
      if (msg.reply) msg.respond(errorReply(err));
    }
  }

  #cell(kind: string, id: string): Cell {
    const key = `${kind}/${id}`;
    let cell = this.#cells.get(key);
    if (!cell) {
      cell = { kind, id, state: undefined, version: 0, loaded: false, queue: null, busy: false, lastActive: this.#o.clock.now().getTime() };
      this.#cells.set(key, cell);
    }
    return cell;
  }

  #enqueue(kind: string, id: string, item: QueueItem): void {
    const cell = this.#cell(kind, id);
    (cell.queue ??= []).push(item);
    this.#inFlight++;
    if (!cell.busy) void this.#drain(cell);
  }

  async #drain(cell: Cell): Promise<void> {
    cell.busy = true;
    while (cell.queue?.length) {
      const item = cell.queue.shift()!;
      const t0 = performance.now();
      const reply = item.trace
        ? await inSpan(
            `process ${this.#o.prefix}.${cell.kind}.{id}.cmd`,
            { kind: SpanKind.CONSUMER, parent: item.trace, attributes: { 'messaging.system': 'nats', 'messaging.operation.type': 'process', 'tollgate.actor': `${cell.kind}/${cell.id}`, ...(tenantOf(cell) ? { 'tollgate.tenant_id': tenantOf(cell)! } : {}) } },
            () => this.#process(cell, item.raw, item.timerId),
          )
        : await this.#process(cell, item.raw, item.timerId);
      if (item.msg?.reply) item.msg.respond(reply);
      this.#o.metrics?.processed(cell.kind, performance.now() - t0);
      cell.lastActive = this.#o.clock.now().getTime();
      if (--this.#inFlight === 0) this.#idleWaiters.splice(0).forEach((w) => w());
    }
    cell.queue = null;
    cell.busy = false;
  }

  async #load(cell: Cell): Promise<void> {
    const behaviour = this.#behaviours.get(cell.kind)!;
    const snap = await inSpan('load actor_snapshots', { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'load', 'tollgate.actor': `${cell.kind}/${cell.id}` } }, () => this.#o.store.load(cell.kind, cell.id));
    cell.state = snap ? snap.state : behaviour.initial(cell.id);
    cell.version = snap?.version ?? 0;
    cell.loaded = true;
  }

  /** One message, start to finish; returns the encoded reply. */
  async #process(cell: Cell, raw: unknown, timerId?: string): Promise<Uint8Array> {
    const behaviour = this.#behaviours.get(cell.kind)!;
    let message: ActorMessage;
    try {
      message = behaviour.parse(raw);
    } catch (err) {
      return errorReply(err instanceof TollgateError ? err : new BadRequestError((err as Error).message));
    }
    let lastError: unknown;
    // Crashes use up attempts; conflicts (another node wrote first) have their own budget.
    let conflicts = 0;
    for (let attempt = 1; attempt <= this.#o.maxAttempts; ) {
      try {
        if (!cell.loaded) await this.#load(cell);
      } catch (err) {
        return errorReply(new UnavailableError(`could not load actor ${cell.kind}/${cell.id}: ${(err as Error).message}`));
      }
      let step: Step<unknown>;
      try {
        step = behaviour.step(cell.state, message, { id: cell.id, now: this.#o.clock.now() });
      } catch (err) {
        // Restart: forget the in-memory state, reload what was persisted, retry.
        lastError = err;
        cell.loaded = false;
        this.#o.metrics?.crashed(cell.kind);
        this.#o.log.warn({ err, actor: `${cell.kind}/${cell.id}`, tenantId: tenantOf(cell), attempt, type: message.type }, 'actor crashed; restarting');
        if (attempt < this.#o.maxAttempts) await sleep(this.#o.backoffMs[attempt - 1] ?? 250);
        attempt++;
        continue;
      }
      if (step.refusal) return errorReply(step.refusal);
      try {
        await this.#persist(cell, step, timerId);
      } catch (err) {
        cell.loaded = false;
        if (err instanceof RevisionConflictError && conflicts < this.#o.maxConflictRetries) {
          // Another node wrote first: reload and redo; the random delay lets a busy writer get ahead.
          conflicts++;
          await sleep(Math.random() * Math.min(100, 5 * 2 ** conflicts));
          continue;
        }
        return errorReply(err instanceof TollgateError ? err : new UnavailableError(`could not persist actor ${cell.kind}/${cell.id}: ${(err as Error).message}`));
      }
      return this.#runEffects(cell, step);
    }
    this.#o.metrics?.deadLettered(cell.kind);
    const reason = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
    this.#o.log.error({ actor: `${cell.kind}/${cell.id}`, tenantId: tenantOf(cell), type: message.type, reason }, 'message dead-lettered');
    try {
      await this.#o.store.deadLetter(cell.kind, cell.id, raw, reason, this.#o.maxAttempts);
      this.#o.bus.publish(`${this.#o.prefix}.dlq.${cell.kind}`, encodeJson({ actor: cell.id, message: raw, reason }));
    } catch (err) {
      this.#o.log.error({ err, actor: `${cell.kind}/${cell.id}` }, 'could not record the dead letter');
    }
    return errorReply(new DeadLetteredError(`message ${message.type} crashed actor ${cell.kind}/${cell.id} ${this.#o.maxAttempts} times and was dead-lettered: ${reason}`));
  }

  async #persist(cell: Cell, step: Step<unknown>, timerId?: string): Promise<void> {
    const timers: TimerChanges = { set: [], cancel: timerId ? [timerId] : [] };
    for (const e of step.effects ?? []) {
      if (e.kind === 'schedule') timers.set.push({ kind: cell.kind, actorId: cell.id, timerId: e.timerId, at: new Date(e.at), message: e.message });
      else if (e.kind === 'cancelTimer') timers.cancel.push(e.timerId);
    }
    if (step.state !== cell.state || timers.set.length || timers.cancel.length) {
      cell.version = await inSpan('save actor_snapshots', { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'save', 'tollgate.actor': `${cell.kind}/${cell.id}` } }, () =>
        this.#o.store.save(cell.kind, cell.id, step.state, cell.version, timers),
      );
    }
    cell.state = step.state;
    for (const id of timers.cancel) this.#disarm(cell.kind, cell.id, id);
    for (const t of timers.set) this.#arm(t);
  }

  async #runEffects(cell: Cell, step: Step<unknown>): Promise<Uint8Array> {
    const events: Array<{ tenantId: string; type: string; data: unknown }> = [];
    let reply: unknown = step.reply;
    let failure: unknown;
    for (const e of step.effects ?? []) {
      if (e.kind === 'publish') events.push(e);
      if (e.kind !== 'call' || failure) continue;
      const port = this.#o.ports[e.port];
      try {
        if (!port) throw new Error(`no port ${e.port}`);
        const out = await inSpan(`port ${e.port}.${e.op}`, { attributes: { 'tollgate.actor': `${cell.kind}/${cell.id}` } }, () => port(e.op, e.args, { kind: cell.kind, id: cell.id }));
        if (e.reply) reply = out.result;
        events.push(...(out.events ?? []));
      } catch (err) {
        failure = err;
      }
    }
    for (const ev of events) {
      try {
        this.#o.bus.publish(`${this.#o.prefix}.evt.${ev.tenantId}.${ev.type}`, encodeJson(ev.data));
      } catch (err) {
        this.#o.log.warn({ err, type: ev.type }, 'could not publish event');
      }
    }
    return failure ? errorReply(failure) : okReply(reply);
  }

  #arm(t: TimerRecord): void {
    const key = `${t.kind}/${t.actorId}/${t.timerId}`;
    this.#timers.get(key)?.();
    if (this.#stopped) return;
    this.#timers.set(
      key,
      this.#o.clock.setTimer(t.at, () => {
        this.#timers.delete(key);
        if (!this.#owns(t.kind, t.actorId)) return; // its new owner armed it
        this.#enqueue(t.kind, t.actorId, { raw: t.message, timerId: t.timerId });
      }),
    );
  }

  #disarm(kind: string, id: string, timerId: string): void {
    const key = `${kind}/${id}/${timerId}`;
    this.#timers.get(key)?.();
    this.#timers.delete(key);
  }
}

function tenantOf(cell: Cell): string | undefined {
  const s = cell.state as { tenantId?: unknown } | undefined;
  return cell.kind === 'tenant' ? cell.id : typeof s?.tenantId === 'string' ? s.tenantId : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

