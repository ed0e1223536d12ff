import { io, type Socket } from 'socket.io-client';
import { batch, createSignal } from 'solid-js';
import { createStore, reconcile } from 'solid-js/store';
import type { Delta, Hello, SessionEnded, SubscribeReply, TenantSummary } from '../../control-plane/live/protocol';
import { setToken } from './api';

export type LiveStatus = 'signed-out' | 'connecting' | 'live' | 'reconnecting' | 'ended';

const [status, setStatus] = createSignal<LiveStatus>('signed-out');
const [who, setWho] = createSignal<Hello | null>(null);
const [problem, setProblem] = createSignal<string | null>(null);
const [tenants, setTenants] = createStore<Record<string, TenantSummary>>({});
const [tenantIds, setTenantIds] = createSignal<string[]>([]);
const [lastSeq, setLastSeq] = createSignal(0);
const [latencies, setLatencies] = createSignal<number[]>([]);
const [deltaCount, setDeltaCount] = createSignal(0);
/** How the last (re)subscription went: a full snapshot, or a resume with the deltas missed meanwhile. */
const [lastSubscribe, setLastSubscribe] = createSignal<{ mode: 'snapshot' | 'resume'; missed: number } | null>(null);

let socket: Socket | null = null;
let epoch: string | null = null;
/** Server clock minus ours, from `hello` (latency figures need the same clock). */
let clockOffset = 0;
const listeners = new Set<(d: Delta) => void>();

export const live = { status, who, problem, tenants, tenantIds, lastSeq, latencies, deltaCount, lastSubscribe };

/** Called for every applied delta (views refresh what they show). Returns the unsubscribe. */
export function onDelta(fn: (d: Delta) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function putSummary(s: TenantSummary) {
  if (!(s.id in tenants)) setTenantIds((ids) => [...ids, s.id].sort());
  setTenants(s.id, reconcile(s));
}

function apply(d: Delta) {
  // A delta already applied (a resume overlapping what we had) is skipped: no duplicates.
  if (d.epoch === epoch && d.seq <= lastSeq()) return;
  batch(() => {
    epoch = d.epoch;
    setLastSeq(d.seq);
    if (d.summary) putSummary(d.summary);
    else if (d.type === 'alerts.count' && d.tenantId && d.tenantId in tenants) setTenants(d.tenantId, 'openAlerts', (d.data as { open: number }).open);
    setDeltaCount((n) => n + 1);
  });
  // Update latency as the console sees it: the server got the event → it is on screen (next frame).
  const at = d.at;
  requestAnimationFrame(() => setLatencies((xs) => [...xs.slice(-199), Math.max(0, Date.now() + clockOffset - at)]));
  for (const fn of listeners) fn(d);
}

function subscribe() {
  const s = socket;
  if (!s) return;
  const resume = epoch ? { epoch, seq: lastSeq() } : undefined;
  s.timeout(30_000)
    .emitWithAck('subscribe', { tenants: '*', ...(resume ? { resume } : {}) })
    .then((reply: SubscribeReply) => {
      if (!reply.ok) return setProblem(`The live feed was refused (${reply.error.code}): ${reply.error.message}`);
      if (reply.mode === 'snapshot') {
        batch(() => {
          const next: Record<string, TenantSummary> = {};
          for (const t of reply.tenants) next[t.id] = t;
          setTenants(reconcile(next));
          setTenantIds(reply.tenants.map((t) => t.id).sort());
          epoch = reply.epoch;
          setLastSeq(reply.seq);
          setLastSubscribe({ mode: 'snapshot', missed: 0 });
        });
      } else {
        for (const d of reply.deltas) apply(d);
        setLastSubscribe({ mode: 'resume', missed: reply.deltas.length });
      }
      setProblem(null);
      setStatus('live');
    })
    .catch((err: Error) => setProblem(`The live feed did not answer: ${err.message}`));
}

/** Signs in: connects the live channel with the token; resolves with who we are or rejects with why not. */
export function connectLive(token: string): Promise<Hello> {
  disconnectLive();
  setStatus('connecting');
  setProblem(null);
  const s = io({ path: '/live', auth: { token }, transports: ['websocket'], reconnectionDelayMax: 3_000 });
  socket = s;
  s.on('delta', apply);
  s.on('connect', subscribe);
  s.on('disconnect', (reason) => {
    if (status() === 'ended' || status() === 'signed-out') return;
    setStatus('reconnecting');
    setProblem(`The live feed is reconnecting (${reason}); what you see may be a few seconds old.`);
  });
  s.on('session.ended', (e: SessionEnded) => {
    // Forget the token before the sign-in form shows (it would try the saved one).
    setToken(null);
    batch(() => {
      setStatus('ended');
      setProblem(`Signed out: ${e.message}`);
      setWho(null);
    });
  });
  return new Promise<Hello>((resolve, reject) => {
    s.once('hello', (h: Hello & { serverTime: number }) => {
      clockOffset = h.serverTime - Date.now();
      setWho(h);
      resolve(h);
    });
    s.on('connect_error', (err: Error & { data?: { code: string; message: string } }) => {
      const message = err.data ? `${err.data.code}: ${err.data.message}` : `the control plane did not answer (${err.message})`;
      if (status() === 'connecting') {
        disconnectLive();
        setProblem(`Sign-in failed — ${message}`);
        reject(new Error(message));
      } else if (err.data?.code === 'UNAUTHENTICATED') {
        // Reconnecting with a token revoked or expired meanwhile: stop retrying, sign out.
        disconnectLive();
        setToken(null);
        setProblem(`Signed out — ${message}`);
      }
    });
  });
}

export function disconnectLive(): void {
  socket?.removeAllListeners();
  socket?.disconnect();
  socket = null;
  epoch = null;
  batch(() => {
    setStatus('signed-out');
    setWho(null);
    setLastSeq(0);
    setTenants(reconcile({}));
    setTenantIds([]);
  });
}

/** One tenant's detail over the live channel. */
export async function requestDetail<T>(tenantId: string): Promise<T> {
  if (!socket) throw new Error('not connected');
  const reply = (await socket.timeout(10_000).emitWithAck('detail', { tenantId })) as { ok: true; detail: T } | { ok: false; error: { code: string; message: string } };
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.detail;
}

/** p-th percentile of the measured update latencies (ms), or null without samples. */
export function latencyPercentile(p: number): number | null {
  const xs = [...latencies()].sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
}
