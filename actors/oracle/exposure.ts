import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { ForbiddenError, GovernanceUnlockRequiredError, IllegalTransitionError } from '../errors';

/**
 * Oracle exposure as a small stage machine: an ordered list of stages, who
 * may move between them, and breaker trips that step back one stage. Pure:
 * `step(state, event)` returns the next state and the effects for the host
 * to run. The automatic breakers are gate-engine predicates
 * (`exposureBreakers` in ./breakers.ts); the moves between stages are people's
 * (ADMIN, OPEN behind a governance unlock), so they stay this small machine.
 */
export const EXPOSURE_STAGES = ['SHADOW_SYNC', 'DARK_LAUNCH', 'CANARY_1', 'CANARY_10', 'OPEN'] as const;
export type ExposureStage = (typeof EXPOSURE_STAGES)[number];

/** Stages that a human may only enter with a governance unlock. */
export const UNLOCK_REQUIRED: ReadonlySet<ExposureStage> = new Set(['OPEN']);

export interface ExposureState {
  stage: ExposureStage;
  /** The stage before the last move (for the record; breakers step back by order). */
  previousStage: ExposureStage | null;
  revision: number;
}

export type ExposureEvent =
  | { type: 'set'; to: ExposureStage; by: { name: string; role: string }; reason: string; unlockAccepted: boolean }
  | { type: 'breaker'; breaker: string; detail: string };

export type ExposureEffect =
  | { type: 'audit'; action: 'oracle.exposure.changed' | 'oracle.exposure.reverted'; payload: Record<string, unknown> }
  | { type: 'alert'; severity: 'P1' | 'P2'; kind: string; message: string; details: Record<string, unknown> };

export const indexOf = (stage: ExposureStage) => EXPOSURE_STAGES.indexOf(stage);

/** The next state and the effects of one event; throws a typed error for a refused move. */
export function step(state: ExposureState, event: ExposureEvent): { state: ExposureState; effects: ExposureEffect[] } {
  if (event.type === 'set') {
    if (event.by.role !== 'ADMIN') throw new ForbiddenError(`changing the oracle exposure needs the ADMIN role; ${event.by.name} is ${event.by.role}`);
    const from = indexOf(state.stage);
    const to = indexOf(event.to);
    if (to === from) throw new IllegalTransitionError(`the oracle is already in ${state.stage}`);
    // Forward one stage at a time; back to any earlier stage at once (a manual rollback).
    if (to > from + 1) throw new IllegalTransitionError(`${state.stage} → ${event.to} skips a stage; move one stage at a time`);
    if (to > from && UNLOCK_REQUIRED.has(event.to) && !event.unlockAccepted) {
      throw new GovernanceUnlockRequiredError(`${event.to} needs an accepted governance unlock (unlockId)`);
    }
    const next: ExposureState = { stage: event.to, previousStage: state.stage, revision: state.revision + 1 };
    return {
      state: next,
      effects: [{ type: 'audit', action: 'oracle.exposure.changed', payload: { from: state.stage, to: event.to, reason: event.reason, revision: next.revision } }],
    };
  }
  const from = indexOf(state.stage);
  if (from === 0) return { state, effects: [] };
  const to = EXPOSURE_STAGES[from - 1]!;
  const next: ExposureState = { stage: to, previousStage: state.stage, revision: state.revision + 1 };
  return {
    state: next,
    effects: [
      { type: 'audit', action: 'oracle.exposure.reverted', payload: { from: state.stage, to, breaker: event.breaker, detail: event.detail, revision: next.revision } },
      {
        type: 'alert',
        severity: event.breaker === 'state-verifier' ? 'P1' : 'P2',
        kind: `oracle.breaker.${event.breaker}`,
        message: `oracle exposure reverted ${state.stage} → ${to}: ${event.detail}`,
        details: { from: state.stage, to, breaker: event.breaker },
      },
    ],
  };
}

/** A stable number in 0..2^32 for a partner id (the canary waves' order). */
function rank(id: string): number {
  const h = sha256(utf8ToBytes(`oracle-wave:${id}`));
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

/**
 * External partners admitted at a canary stage: CANARY_1 exactly one,
 * CANARY_10 the first 10% (at least one), in a fixed pseudo-random order of
 * their ids — so growing a wave keeps everyone already in it.
 */
export function canaryCohort(stage: ExposureStage, externalIds: readonly string[]): ReadonlySet<string> {
  const ordered = [...externalIds].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  if (stage === 'CANARY_1') return new Set(ordered.slice(0, 1));
  if (stage === 'CANARY_10') return new Set(ordered.slice(0, Math.max(1, Math.ceil(ordered.length / 10))));
  return new Set();
}

/** Whether a stage lets this caller through (internal = an audit principal). */
export function admits(stage: ExposureStage, caller: { id: string; internal: boolean }, cohort: ReadonlySet<string>): boolean {
  switch (stage) {
    case 'SHADOW_SYNC':
      return false;
    case 'DARK_LAUNCH':
      return caller.internal;
    case 'CANARY_1':
    case 'CANARY_10':
      return caller.internal || cohort.has(caller.id);
    case 'OPEN':
      return true;
  }
}
