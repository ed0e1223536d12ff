/**
 * The `/flags` namespace of the live channel (socket.io at path `/live` on
 * the control plane's HTTP server). A client authenticates with an operator
 * token (any role: AGRONOMIST reads) in `auth.token`; on connection it gets
 * `flags:snapshot` `{ flags: FlagConfig[] }`, then `flags:changed`
 * `{ key, version, flag }` for every change made on any node (each node
 * subscribes to `<prefix>.flags.changed` on the bus and forwards). Versions
 * are per flag and only grow: clients ignore what is not newer. Connected
 * tokens are checked again every `recheckMs` (30 s): a revoked one is cut off.
 */
import type { Namespace, Server } from 'socket.io';
import type { Logger } from 'pino';
import type { Principal } from '../../actors/principal';
import { decodeJson } from '../actor-host/protocol';
import type { Bus } from '../ports/bus';
import { flagsChangedSubject, type FlagChange, type FlagService } from './flag-service';

export const FLAGS_NAMESPACE = '/flags';

export interface FlagsNamespaceDeps {
  flags: Pick<FlagService, 'configs'>;
  /** Operator tokens (the identity service's `authenticate`). */
  authenticate(token: string): Promise<Principal | null>;
  bus: Bus;
  prefix: string;
  log: Logger;
  /** How often connected tokens are checked again (a revoked or expired token is disconnected); default 30 s. */
  recheckMs?: number;
}

/** Serves the flag set live on `io.of('/flags')`; `close()` stops forwarding. */
export function attachFlagsNamespace(io: Server, deps: FlagsNamespaceDeps): { namespace: Namespace; close(): void } {
  const nsp = io.of(FLAGS_NAMESPACE);
  nsp.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) return next(new Error('UNAUTHENTICATED: send an operator token as auth.token'));
    deps.authenticate(token).then(
      (principal) => {
        if (!principal) return next(new Error('UNAUTHENTICATED: unknown or revoked token'));
        socket.data.principal = principal;
        socket.data.token = token;
        next();
      },
      (err: unknown) => {
        deps.log.warn({ err }, 'flags namespace: authentication failed');
        next(new Error('UNAVAILABLE: could not check the token; retry'));
      },
    );
  });
  nsp.on('connection', (socket) => {
    deps.flags.configs().then(
      (flags) => socket.emit('flags:snapshot', { flags }),
      (err: unknown) => {
        deps.log.warn({ err }, 'flags namespace: snapshot failed');
        socket.emit('flags:error', { code: 'UNAVAILABLE', message: 'the flag set could not be read; reconnect' });
        socket.disconnect(true);
      },
    );
  });
  const sub = deps.bus.subscribe(flagsChangedSubject(deps.prefix), (msg) => {
    try {
      const change = decodeJson(msg.data) as FlagChange;
      nsp.emit('flags:changed', change);
    } catch (err) {
      deps.log.warn({ err }, 'flags namespace: a malformed change message was dropped');
    }
  });
  // Tokens are revocable: each connected one is checked again now and then.
  const recheck = setInterval(() => {
    for (const socket of nsp.sockets.values()) {
      deps.authenticate(String(socket.data.token)).then(
        (principal) => {
          if (principal) return;
          socket.emit('flags:error', { code: 'UNAUTHENTICATED', message: 'the token was revoked or expired' });
          socket.disconnect(true);
        },
        () => undefined, // the identity store is unreachable: keep serving, check again next time
      );
    }
  }, deps.recheckMs ?? 30_000);
  recheck.unref();
  return {
    namespace: nsp,
    close: () => {
      clearInterval(recheck);
      sub.unsubscribe();
    },
  };
}
