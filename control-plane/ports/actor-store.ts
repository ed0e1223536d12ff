import type { ActorMessage } from '../../actors/actor';

export interface ActorSnapshot {
  state: unknown;
  /** 0 when the actor has never been persisted. */
  version: number;
}

export interface TimerRecord {
  kind: string;
  actorId: string;
  timerId: string;
  at: Date;
  message: ActorMessage;
}

export interface TimerChanges {
  set: TimerRecord[];
  cancel: string[];
}

/** Where actors keep their state, timers and dead letters. */
export interface ActorStore {
  load(kind: string, id: string): Promise<ActorSnapshot | null>;
  /** Many actors in one query (start-up rehydration); absent ids are absent from the map. */
  loadMany(kind: string, ids: readonly string[]): Promise<Map<string, ActorSnapshot>>;
  /**
   * Writes the new state if the stored version is still `expectedVersion`
   * (0 = not yet stored), with the timer changes, in one transaction.
   * Returns the new version; throws RevisionConflictError otherwise.
   */
  save(kind: string, id: string, state: unknown, expectedVersion: number, timers: TimerChanges): Promise<number>;
  pendingTimers(): Promise<TimerRecord[]>;
  deadLetter(kind: string, id: string, message: unknown, error: string, attempts: number): Promise<void>;
}
