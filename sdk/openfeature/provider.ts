/**
 * The Tollgate OpenFeature provider (`tollgate/openfeature`) for
 * `@openfeature/server-sdk`. It holds the whole flag set in memory and
 * evaluates in process with the control plane's own evaluator
 * (`actors/flags/evaluate.ts`), so an evaluation costs no I/O. The set
 * arrives over the live channel (socket.io, path `/live`, namespace
 * `/flags`): a snapshot on every (re)connection, then one message per
 * change; per-flag versions make stale and duplicate updates harmless.
 *
 * Events, as OpenFeature defines them: Ready after the first snapshot (and
 * again after a reconnection), ConfigurationChanged with `flagsChanged` on
 * every applied change, Stale when the control plane is unreachable (the
 * last known values keep being served), Error when the first connection is
 * refused. Nothing is written to disk: the token and the flag set live in
 * this process only.
 *
 * Evaluation context: `targetingKey` is the subject; `segments`,
 * `optIn` and `optOut` (arrays of strings) are read when present. Boolean
 * flags give on/off, string flags the profile's name, object flags the
 * profile's params.
 */
import {
  ErrorCode,
  FlagNotFoundError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  TargetingKeyMissingError,
  TypeMismatchError,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { io, type Socket } from 'socket.io-client';
import { FlagSet, type Evaluation, type EvaluationReason } from '../../actors/flags/evaluate';
import type { FlagConfig, Subject } from '../../actors/flags/model';

export interface TollgateProviderOptions {
  /** The control plane, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** An operator token (any role). */
  token: string;
  /** socket.io path (default `/live`). */
  path?: string;
  /** How long `initialize` waits for the first snapshot (default 5 s). */
  initTimeoutMs?: number;
  /** First reconnection delay (default 500 ms; grows to 5 s). */
  reconnectionDelayMs?: number;
  /** Flags to serve before the first snapshot (e.g. for tests or benchmarks); snapshots replace them by version. */
  bootstrap?: FlagConfig[];
}

const REASONS: Record<EvaluationReason, string> = {
  KILLED: StandardResolutionReasons.DISABLED,
  DEPENDENCY: StandardResolutionReasons.TARGETING_MATCH,
  FULL: StandardResolutionReasons.STATIC,
  OPT_OUT: StandardResolutionReasons.TARGETING_MATCH,
  USER_LIST: StandardResolutionReasons.TARGETING_MATCH,
  SEGMENT: StandardResolutionReasons.TARGETING_MATCH,
  OPT_IN: StandardResolutionReasons.TARGETING_MATCH,
  PERCENTAGE: StandardResolutionReasons.SPLIT,
  STAGE: StandardResolutionReasons.STATIC,
};

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

/** The subject an OpenFeature evaluation context describes. */
export function subjectOf(context: EvaluationContext): Subject {
  const id = context.targetingKey;
  if (typeof id !== 'string' || id.length === 0) throw new TargetingKeyMissingError('set targetingKey (the subject id) in the evaluation context');
  const subject: { id: string; segments?: string[]; optIn?: string[]; optOut?: string[] } = { id };
  const segments = strings(context.segments);
  if (segments) subject.segments = segments;
  const optIn = strings(context.optIn);
  if (optIn) subject.optIn = optIn;
  const optOut = strings(context.optOut);
  if (optOut) subject.optOut = optOut;
  return subject;
}

export class TollgateFlagsProvider implements Provider {
  readonly metadata = { name: 'tollgate' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  #set: FlagSet = FlagSet.of();
  #socket: Socket | null = null;
  #connected = false;
  #stale = false;
  /** The first snapshot did not come in time: initialisation failed, and the first later snapshot makes the provider Ready. */
  #initFailed = false;
  readonly #options: Required<TollgateProviderOptions>;

  constructor(options: TollgateProviderOptions) {
    if (!options.url || !options.token) throw new TypeError('TollgateFlagsProvider needs url and token');
    this.#options = { path: '/live', initTimeoutMs: 5_000, reconnectionDelayMs: 500, bootstrap: [], ...options };
    this.#set = FlagSet.of(this.#options.bootstrap);
  }

  /** Whether the live channel is up now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Whether the provider is cut off from the control plane and serving its last known values. */
  get stale(): boolean {
    return this.#stale;
  }

  /** The flag set in memory (a copy of the configs). */
  flags(): FlagConfig[] {
    return this.#set.configs();
  }

  /** Evaluates one flag synchronously; undefined when the flag is unknown. The hot path of every resolve. */
  evaluate(flagKey: string, subject: Subject): Evaluation | undefined {
    return this.#set.evaluate(flagKey, subject);
  }

  initialize(): Promise<void> {
    const o = this.#options;
    const base = o.url.replace(/\/+$/, '');
    const socket = io(`${base}/flags`, {
      path: o.path,
      auth: { token: o.token },
      transports: ['websocket'],
      // Our own connection: socket.io-client otherwise shares one Manager per URL, so a provider closed (or a
      // node gone) earlier on the same host:port would leave this one on a dead manager that never reconnects.
      forceNew: true,
      reconnectionDelay: o.reconnectionDelayMs,
      reconnectionDelayMax: 5_000,
      timeout: o.initTimeoutMs,
    });
    this.#socket = socket;
    let first = true;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!first) return;
        first = false;
        this.#initFailed = true;
        reject(new Error(`no flag snapshot from ${base} within ${o.initTimeoutMs} ms`));
      }, o.initTimeoutMs);
      timer.unref?.();
      socket.on('flags:snapshot', (msg: { flags: FlagConfig[] }) => {
        const changed = this.#apply(msg.flags, true);
        this.#connected = true;
        const recovered = this.#stale || this.#initFailed;
        this.#stale = false;
        this.#initFailed = false;
        if (first) {
          first = false;
          clearTimeout(timer);
          resolve(); // the SDK emits Ready for a resolved initialize
          return;
        }
        if (recovered) this.events.emit(ProviderEvents.Ready, { message: 'connected to the control plane' });
        if (changed.length) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed });
      });
      socket.on('flags:changed', (msg: { key: string; version: number; flag: FlagConfig }) => {
        const changed = this.#apply([msg.flag], false);
        if (changed.length) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed });
      });
      socket.on('disconnect', (reason) => {
        this.#connected = false;
        // socket.io does not reconnect after a server-side disconnect (a node shutting down): we do.
        if (reason === 'io server disconnect') setTimeout(() => this.#socket === socket && socket.connect(), o.reconnectionDelayMs).unref?.();
        if (!first && !this.#stale && reason !== 'io client disconnect') {
          this.#stale = true;
          this.events.emit(ProviderEvents.Stale, { message: `control plane unreachable (${reason}); serving the last known values` });
        }
      });
      socket.on('connect_error', (err: Error) => {
        const refused = /^UNAUTHENTICATED/.test(err.message);
        if (first) {
          if (refused) {
            first = false;
            clearTimeout(timer);
            socket.close();
            reject(new Error(`the control plane refused the token: ${err.message}`));
          }
          return; // unreachable: socket.io retries until the init timeout
        }
        if (refused) {
          socket.close();
          this.events.emit(ProviderEvents.Error, { message: `the control plane refused the token: ${err.message}`, errorCode: ErrorCode.GENERAL });
        } else if (!this.#stale && !this.#initFailed) {
          this.#stale = true;
          this.events.emit(ProviderEvents.Stale, { message: `control plane unreachable (${err.message}); serving the last known values` });
        }
      });
    });
  }

  async onClose(): Promise<void> {
    const s = this.#socket;
    this.#socket = null;
    if (s) {
      s.removeAllListeners();
      s.close();
    }
    this.#connected = false;
  }

  /** Applies newer versions only; returns the keys that changed. */
  #apply(configs: readonly FlagConfig[], snapshot: boolean): string[] {
    let set = this.#set;
    const changed: string[] = [];
    for (const c of configs) {
      const held = set.get(c.key);
      if (held && held.version >= c.version) continue;
      set = set.with(c);
      changed.push(c.key);
    }
    if (snapshot && changed.length === 0 && set.size === this.#set.size) return changed;
    this.#set = set;
    return changed;
  }

  #resolve(flagKey: string, context: EvaluationContext): Evaluation {
    const ev = this.#set.evaluate(flagKey, subjectOf(context));
    if (!ev) throw new FlagNotFoundError(`no flag ${flagKey} in the set from the control plane`);
    return ev;
  }

  #details<T>(value: T, ev: Evaluation): ResolutionDetails<T> {
    return {
      value,
      variant: ev.variant,
      reason: this.#stale ? StandardResolutionReasons.STALE : REASONS[ev.reason],
      flagMetadata: { tollgateReason: ev.reason, stage: ev.stage, version: ev.version, profile: ev.profile.name },
    };
  }

  async resolveBooleanEvaluation(flagKey: string, _defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    const ev = this.#resolve(flagKey, context);
    return this.#details(ev.value, ev);
  }

  async resolveStringEvaluation(flagKey: string, _defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    const ev = this.#resolve(flagKey, context);
    return this.#details(ev.profile.name, ev);
  }

  async resolveNumberEvaluation(flagKey: string): Promise<ResolutionDetails<number>> {
    throw new TypeMismatchError(`flag ${flagKey} is boolean (its profile is a string or an object), never a number`);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, _defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    const ev = this.#resolve(flagKey, context);
    return this.#details({ ...ev.profile.params } as unknown as T, ev);
  }
}
