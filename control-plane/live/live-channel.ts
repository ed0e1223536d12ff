import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Logger } from 'pino';
import type { Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import type { Bus, Msg, Subscription } from '../ports/bus';
import type { Clock } from '../ports/clock';
import { DeltaLog } from './delta-log';
import type { Delta, Hello, SessionEnded, SubscribeReply, SubscribeRequest, TenantDetail, TenantSummary } from './protocol';
import { openAlertCounts, tenantSummaries } from './tenant-summary';
import { tenantDetail } from './tenant-detail';

export const LIVE_PATH = '/live';
export const DEFAULT_RECHECK_MS = 5_000;
export const DEFAULT_ALERT_POLL_MS = 1_000;
export const DEFAULT_BUFFER = 10_000;
/** Ids per subscription (the packet limit is 64 KB); more tenants than this: subscribe to '*'. */
const MAX_SUBSCRIBED_IDS = 1_000;
const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Event types after which the tenant's row in the list is read again. */
const SUMMARY_TYPES = /^(tenant\.|model\.|canary\.|drift\.report|drift\.breach|retrain\.(validated|failed))/;

export interface LiveDeps {
  db: Db;
  bus: Bus;
  identity: { authenticate(token: string): Promise<Principal | null>; onRevoked?(listener: () => void): () => void };
  clock: Clock;
  prefix: string;
  log: Logger;
}

export interface LiveOptions {
  /** How often every session's token is checked again (revoked elsewhere, expired). */
  recheckMs?: number;
  /** How often open alert counts are compared (alerts travel on a durable stream, not the event bus). */
  alertPollMs?: number;
  /** Deltas kept for reconnecting clients. */
  bufferSize?: number;
}

export interface LiveChannel {
  /** The socket.io server: other features add their own namespaces (`/flags`) to it. */
  io: Server;
  deltas: DeltaLog;
  /** Checks every session's token now; ends those no longer valid. */
  recheckSessions(): Promise<void>;
  /** Resolves when every event received so far has become a delta. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

interface SessionData {
  token: string;
  principal: Principal;
  /** Null until a subscription's snapshot or resume has been sent. */
  tenants: '*' | Set<string> | null;
  /** A subscription is being answered (one at a time per client: a snapshot can be large). */
  subscribing?: boolean;
}

type LiveSocket = Socket<Record<string, (...args: any[]) => void>, Record<string, (...args: any[]) => void>, Record<string, never>, SessionData>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The console's live channel: socket.io at `/live` on the node's HTTP server.
 * A client authenticates in the handshake (`auth: { token }`, the operator
 * bearer token), subscribes, and receives a snapshot then the deltas built
 * from the node's bus events, numbered by `seq`; a reconnecting client
 * resumes from its last seq (or gets a new snapshot when that is too old).
 */
export function attachLive(httpServer: HttpServer, deps: LiveDeps, options: LiveOptions = {}): LiveChannel {
  const recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
  const alertPollMs = options.alertPollMs ?? DEFAULT_ALERT_POLL_MS;
  const log = deps.log.child({ component: 'live' });
  const deltas = new DeltaLog(options.bufferSize ?? DEFAULT_BUFFER);
  const io = new Server(httpServer, { path: LIVE_PATH, serveClient: false, maxHttpBufferSize: 64 * 1024, cors: { origin: false } });
  const ns = io.of('/');

  // Events become deltas one at a time, in arrival order, so seq order is event order.
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (work: () => Promise<void>) => {
    chain = chain.then(work).catch((err: unknown) => log.warn({ err }, 'live: could not build a delta'));
  };

  const publish = (input: Omit<Delta, 'seq' | 'epoch'>): Delta => {
    const delta = deltas.append(input);
    for (const socket of ns.sockets.values() as Iterable<LiveSocket>) {
      const want = socket.data.tenants;
      if (!want) continue;
      if (want === '*' || delta.tenantId === null || want.has(delta.tenantId)) socket.emit('delta', delta);
    }
    return delta;
  };

  /** Whether a connected console follows `tenantId` (or is being subscribed, which may follow anything). */
  const followed = (tenantId: string): boolean => {
    for (const socket of ns.sockets.values() as Iterable<LiveSocket>) {
      const want = socket.data.tenants;
      if (socket.data.subscribing || want === '*' || want?.has(tenantId)) return true;
    }
    return false;
  };
  /**
   * Deltas (by seq) published without the summary they would carry: nobody
   * followed their tenant, so it was not read (five queries per event on the
   * registry's hot path, for no one). A resume that replays them gets each
   * such tenant's current summary on its last replayed delta.
   */
  const summaryless = new Map<number, string>();

  const onEvent = (msg: Msg) => {
    const at = Date.now();
    const [, kind, ...rest] = msg.subject.split('.');
    let data: unknown = null;
    try {
      data = JSON.parse(new TextDecoder().decode(msg.data));
    } catch {
      data = null;
    }
    if (kind === 'gov') {
      enqueue(async () => {
        publish({ at, tenantId: null, type: 'governance.unlock', data });
      });
      return;
    }
    const [tenantId, ...typeParts] = rest;
    if (!tenantId || typeParts.length === 0) return;
    const type = typeParts.join('.');
    enqueue(async () => {
      let summary: TenantSummary | undefined;
      const summarized = SUMMARY_TYPES.test(type);
      const read = summarized && followed(tenantId);
      if (read) [summary] = await tenantSummaries(deps.db, deps.clock.now(), [tenantId]);
      const delta = publish({ at, tenantId, type, data, ...(summary ? { summary } : {}) });
      if (summarized && !read) {
        summaryless.set(delta.seq, tenantId);
        // Only seqs still in the ring can be replayed.
        if (summaryless.size > deltas.capacity) for (const seq of summaryless.keys()) if (seq <= deltas.head - deltas.capacity) summaryless.delete(seq);
      }
    });
  };
  const subs: Subscription[] = [
    deps.bus.subscribe(`${deps.prefix}.evt.>`, onEvent),
    deps.bus.subscribe(`${deps.prefix}.gov.unlock.*`, onEvent),
  ];

  // Alerts: compare open counts per tenant; a change is a delta.
  let alertCounts: Map<string, number> | null = null;
  let polling = false;
  const pollAlerts = () => {
    if (polling) return;
    polling = true;
    enqueue(async () => {
      try {
        const now = await openAlertCounts(deps.db);
        const before = alertCounts;
        alertCounts = now;
        if (!before) return;
        for (const tenantId of new Set([...before.keys(), ...now.keys()])) {
          const open = now.get(tenantId) ?? 0;
          if ((before.get(tenantId) ?? 0) !== open) publish({ at: Date.now(), tenantId: tenantId === '_system' ? null : tenantId, type: 'alerts.count', data: { tenantId, open } });
        }
      } finally {
        polling = false;
      }
    });
  };
  pollAlerts();
  const alertTimer = setInterval(pollAlerts, alertPollMs);
  alertTimer.unref();

  ns.use(async (socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const refuse = (message: string) => next(Object.assign(new Error(message), { data: { code: 'UNAUTHENTICATED', message } }));
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) return refuse('missing token: connect with auth: { token: "<operator bearer token>" }');
    try {
      const principal = await deps.identity.authenticate(token);
      if (!principal) return refuse('unknown, revoked or expired token');
      socket.data = { token, principal, tenants: null } satisfies SessionData;
      next();
    } catch (err) {
      log.warn({ err }, 'live: authentication failed');
      next(Object.assign(new Error('authentication is unavailable; retry'), { data: { code: 'UNAVAILABLE', message: 'authentication is unavailable; retry' } }));
    }
  });

  /** Replayed deltas whose summary was skipped: each such tenant's last one carries its summary as of now. */
  const withCurrentSummaries = async (replay: Delta[]): Promise<Delta[]> => {
    const last = new Map<string, number>();
    for (let i = 0; i < replay.length; i++) {
      const tenantId = summaryless.get(replay[i]!.seq);
      if (tenantId !== undefined) last.set(tenantId, i);
    }
    if (last.size === 0) return replay;
    const rows = await tenantSummaries(deps.db, deps.clock.now(), [...last.keys()]);
    const out = [...replay];
    for (const row of rows) {
      const i = last.get(row.id);
      if (i !== undefined) out[i] = { ...out[i]!, summary: row };
    }
    return out;
  };

  ns.on('connection', (raw) => {
    const socket = raw as LiveSocket;
    const hello: Hello & { serverTime: number } = { name: socket.data.principal.name, role: socket.data.principal.role, epoch: deltas.epoch, seq: deltas.head, serverTime: Date.now() };
    socket.emit('hello', hello);

    socket.on('subscribe', async (request: SubscribeRequest, ack?: (reply: SubscribeReply) => void) => {
      if (typeof ack !== 'function') return;
      const problem = checkSubscribe(request);
      if (problem) return ack({ ok: false, error: { code: 'BAD_REQUEST', message: problem } });
      if (socket.data.subscribing) return ack({ ok: false, error: { code: 'RATE_LIMITED', message: 'a subscription is already being answered on this connection; wait for its reply' } });
      const want = request.tenants === '*' ? '*' : new Set(request.tenants);
      const matches = (d: Delta) => want === '*' || d.tenantId === null || want.has(d.tenantId);
      socket.data.tenants = null;
      if (request.resume) {
        const missed = deltas.since(request.resume.epoch, request.resume.seq);
        if (missed) {
          let replay = missed.filter(matches);
          // Being answered: events meanwhile read their summaries (`followed`).
          socket.data.subscribing = true;
          try {
            replay = await withCurrentSummaries(replay);
          } catch (err) {
            log.warn({ err }, 'live: could not read summaries for a resume');
            return ack({ ok: false, error: { code: 'UNAVAILABLE', message: 'the resume could not be answered; retry' } });
          } finally {
            socket.data.subscribing = false;
          }
          if (!socket.connected) return;
          socket.data.tenants = want;
          // Deltas published while the summaries were read follow the reply.
          const through = missed.length ? missed[missed.length - 1]!.seq : request.resume.seq;
          ack({ ok: true, mode: 'resume', epoch: deltas.epoch, seq: through, deltas: replay });
          for (const d of deltas.since(deltas.epoch, through) ?? []) if (matches(d)) socket.emit('delta', d);
          return;
        }
      }
      socket.data.subscribing = true;
      try {
        for (;;) {
          const from = deltas.head;
          const rows = await tenantSummaries(deps.db, deps.clock.now(), want === '*' ? undefined : [...want]);
          if (!socket.connected) return;
          // Deltas that arrived while reading are sent after the snapshot; they
          // carry whole rows, so one already in the snapshot applies harmlessly.
          const after = deltas.since(deltas.epoch, from);
          if (!after) continue;
          ack({ ok: true, mode: 'snapshot', epoch: deltas.epoch, seq: from, tenants: rows });
          for (const d of after) if (matches(d)) socket.emit('delta', d);
          socket.data.tenants = want;
          return;
        }
      } catch (err) {
        log.warn({ err }, 'live: snapshot failed');
        ack({ ok: false, error: { code: 'UNAVAILABLE', message: 'the snapshot could not be read; retry' } });
      } finally {
        socket.data.subscribing = false;
      }
    });

    socket.on('detail', async (request: { tenantId?: unknown }, ack?: (reply: { ok: true; detail: TenantDetail } | { ok: false; error: { code: string; message: string } }) => void) => {
      if (typeof ack !== 'function') return;
      const tenantId = request?.tenantId;
      if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) return ack({ ok: false, error: { code: 'BAD_REQUEST', message: 'tenantId must be a tenant id' } });
      try {
        const detail = await tenantDetail(deps.db, deps.clock.now(), tenantId);
        if (!detail) return ack({ ok: false, error: { code: 'NOT_FOUND', message: `no tenant ${tenantId}` } });
        ack({ ok: true, detail });
      } catch (err) {
        log.warn({ err }, 'live: detail failed');
        ack({ ok: false, error: { code: 'UNAVAILABLE', message: 'the tenant could not be read; retry' } });
      }
    });
  });

  const endSession = (socket: LiveSocket, ended: SessionEnded) => {
    socket.emit('session.ended', ended);
    socket.disconnect(true);
  };
  let checking: Promise<void> | null = null;
  const checkAll = async () => {
    for (const socket of [...ns.sockets.values()] as LiveSocket[]) {
      const principal = await deps.identity.authenticate(socket.data.token).catch(() => undefined);
      if (principal === null) endSession(socket, { code: 'UNAUTHENTICATED', message: 'your token was revoked or has expired; sign in again' });
    }
  };
  /** One check at a time; a call during a check waits for it and runs another after (a revocation may have come in between). */
  const recheckSessions = async (): Promise<void> => {
    while (checking) await checking;
    checking = checkAll().finally(() => (checking = null));
    return checking;
  };
  const recheckTimer = setInterval(() => void recheckSessions(), recheckMs);
  recheckTimer.unref();
  const offRevoked = deps.identity.onRevoked?.(() => void recheckSessions());

  return {
    io,
    deltas,
    recheckSessions,
    settled: async () => {
      await deps.bus.flush();
      await new Promise((r) => setImmediate(r));
      await chain;
    },
    close: async () => {
      clearInterval(recheckTimer);
      clearInterval(alertTimer);
      offRevoked?.();
      for (const s of subs) s.unsubscribe();
      await chain;
      io.disconnectSockets(true);
      // Not io.close(): that would also close the HTTP server, which its owner closes.
      io.engine.close();
    },
  };
}

function checkSubscribe(request: SubscribeRequest | undefined): string | null {
  if (!request || typeof request !== 'object') return 'subscribe needs { tenants: "*" | [ids], resume?: { epoch, seq } }';
  const { tenants, resume } = request;
  if (tenants !== '*') {
    if (!Array.isArray(tenants)) return 'tenants must be "*" or a list of tenant ids';
    if (tenants.length > MAX_SUBSCRIBED_IDS) return `at most ${MAX_SUBSCRIBED_IDS} tenant ids per subscription; use "*"`;
    const bad = tenants.find((t) => typeof t !== 'string' || !TENANT_ID.test(t));
    if (bad !== undefined) return `not a tenant id: ${JSON.stringify(bad).slice(0, 80)}`;
  }
  if (resume !== undefined && (typeof resume !== 'object' || resume === null || typeof resume.epoch !== 'string' || !Number.isSafeInteger(resume.seq) || resume.seq < 0)) {
    return 'resume must be { epoch: string, seq: non-negative integer }';
  }
  return null;
}
