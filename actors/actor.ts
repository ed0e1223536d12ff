/**
 * What an actor is, as data. A behaviour is a pure function
 * `step(state, message, ctx) → { state, effects, reply }`; the host in
 * control-plane/ persists the new state, then runs the effects, then replies.
 * Nothing here performs I/O.
 */

import type { TollgateError } from './errors';

/** Every message carries its type; the behaviour's parser validates the rest. */
export interface ActorMessage {
  readonly type: string;
}

export interface ActorContext {
  readonly id: string;
  readonly now: Date;
}

export type Effect =
  /** An event on `tg.evt.<tenantId>.<type>`, published after the state is persisted. */
  | { readonly kind: 'publish'; readonly tenantId: string; readonly type: string; readonly data: unknown }
  /** A persisted one-shot timer: `message` is delivered to this actor at `at` (ISO). Same id replaces. */
  | { readonly kind: 'schedule'; readonly timerId: string; readonly at: string; readonly message: ActorMessage }
  | { readonly kind: 'cancelTimer'; readonly timerId: string }
  /**
   * A call into a port (registry, trainer, …) run by the host after the state
   * is persisted; with `reply: true` its result (or typed error) is the reply.
   */
  | { readonly kind: 'call'; readonly port: string; readonly op: string; readonly args: unknown; readonly reply?: boolean };

export interface Step<S> {
  readonly state: S;
  readonly effects?: readonly Effect[];
  readonly reply?: unknown;
  /**
   * A refusal: the command is answered with this typed error and nothing is
   * persisted or run (unlike a throw, which is a crash and is retried).
   */
  readonly refusal?: TollgateError;
}

export interface Behaviour<S, M extends ActorMessage = ActorMessage> {
  /** `tenant`, `model`, …: the subject token and the persistence key. */
  readonly kind: string;
  initial(id: string): S;
  /** Validates an incoming message; throws BadRequestError naming the problem. */
  parse(raw: unknown): M;
  step(state: S, message: M, ctx: ActorContext): Step<S>;
}
