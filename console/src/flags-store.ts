import { io, type Socket } from 'socket.io-client';
import { batch, createSignal } from 'solid-js';
import { createStore, reconcile } from 'solid-js/store';

/** A flag as SDKs see it (the `/flags` namespace's `flags:snapshot` and `flags:changed`). */
export interface FlagConfig {
  key: string;
  stage: number;
  killed: boolean;
  audience: { users: string[]; segments: string[]; percentage: number };
  dependencies: string[];
  profile: { name: string; params: Record<string, unknown>; targetLatencyMs?: number };
  defaultProfile: { name: string; params: Record<string, unknown>; targetLatencyMs?: number };
  version: number;
}
export interface FlagChange { key: string; version: number; flag: FlagConfig }

export type FlagsStatus = 'off' | 'connecting' | 'live' | 'reconnecting';

const [flags, setFlags] = createStore<Record<string, FlagConfig>>({});
const [status, setStatus] = createSignal<FlagsStatus>('off');
const [problem, setProblem] = createSignal<string | null>(null);
let socket: Socket | null = null;
const listeners = new Set<(c: FlagChange) => void>();

export const flagsLive = { flags, status, problem };

/** Called for every applied change (views refetch what they show). Returns the unsubscribe. */
export function onFlagChange(fn: (c: FlagChange) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Applies a change unless what we hold is as new or newer (versions are per flag). */
function apply(c: FlagChange) {
  const held = flags[c.key];
  if (held && held.version >= c.version) return;
  setFlags(c.key, reconcile(c.flag));
  for (const fn of listeners) fn(c);
}

/** Connects the `/flags` namespace of the live channel (same token as the console). Idempotent. */
export function connectFlags(token: string): void {
  if (socket) return;
  setStatus('connecting');
  const s = io('/flags', { path: '/live', auth: { token }, transports: ['websocket'], reconnectionDelayMax: 5_000 });
  socket = s;
  s.on('flags:snapshot', (m: { flags: FlagConfig[] }) => {
    batch(() => {
      // A snapshot replaces what we hold, but never goes back to an older version of a flag.
      const next: Record<string, FlagConfig> = {};
      for (const f of m.flags) next[f.key] = flags[f.key] && flags[f.key]!.version > f.version ? { ...flags[f.key]! } : f;
      setFlags(reconcile(next));
      setStatus('live');
      setProblem(null);
    });
    for (const f of m.flags) for (const fn of listeners) fn({ key: f.key, version: f.version, flag: f });
  });
  s.on('flags:changed', apply);
  s.on('flags:error', (e: { code: string; message: string }) => setProblem(`The flags feed stopped (${e.code}): ${e.message}`));
  s.on('disconnect', () => {
    if (socket === s) setStatus('reconnecting');
  });
  s.on('connect_error', (err: Error) => {
    setStatus('reconnecting');
    setProblem(`The flags feed could not connect: ${err.message}`);
  });
}

export function disconnectFlags(): void {
  socket?.removeAllListeners();
  socket?.disconnect();
  socket = null;
  batch(() => {
    setStatus('off');
    setFlags(reconcile({}));
  });
}
