import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UnavailableError } from '../../actors/errors';
import { ActorClient } from '../../control-plane/actor-host/client';
import { ActorHost } from '../../control-plane/actor-host/host';
import { SqlActorStore } from '../../control-plane/adapters/sql-actor-store';
import { NatsBus } from '../../control-plane/bus/nats-bus';
import { systemClock } from '../../control-plane/ports/clock';
import { openTestDatabase } from '../support/databases';
import { freePort, waitForPort } from '../support/net';
import { requirePostgres, requireService } from '../support/services';
import { sequenceBehaviour, type SeqState } from '../support/test-actors';

const NATS_BIN = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync);

/** A private nats-server: this test restarts it, so it cannot be the shared one. */
function startNats(port: number, dir: string): ChildProcess {
  return spawn(NATS_BIN!, ['-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' });
}

const test = suite('actor host across a nats-server restart');

test('a burst survives the server restart: every acknowledged command applied exactly once', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tg-nats-'));
  let server = startNats(port, dir);
  await waitForPort(port);
  const opened = await openTestDatabase('postgres', 'natsrestart');
  assert.ok(opened);
  const natsOpts = { servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100, pingInterval: 1000 };
  const hostConn: NatsConnection = await connect({ ...natsOpts, name: 'host' });
  const clientConn: NatsConnection = await connect({ ...natsOpts, name: 'client' });
  const host = new ActorHost({ bus: new NatsBus(hostConn), store: new SqlActorStore(opened!.database.db), clock: systemClock, log: pino({ level: 'silent' }), prefix: 'rs' });
  host.register(sequenceBehaviour('seq'));
  const client = new ActorClient(new NatsBus(clientConn), 'rs');

  const N = 1500;
  let acked = 0;
  let retries = 0;
  /** At-least-once sending: retry on transport errors with the same key. */
  const send = async (i: number) => {
    const deadline = Date.now() + 45_000;
    for (;;) {
      try {
        await client.ask('seq', 'burst', { type: 'seq', n: i, key: `k${i}` }, 1_000);
        acked++;
        return;
      } catch (err) {
        if (!(err instanceof UnavailableError) || Date.now() > deadline) throw err;
        retries++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  try {
    const sending = (async () => {
      for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => send(i + j)));
    })();
    while (acked < N / 3) await new Promise((r) => setTimeout(r, 5));
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    server = startNats(port, dir);
    await sending;
    assert.is(acked, N);
    assert.ok(retries > 0, 'the restart really interrupted the burst');
    const state = await client.ask<SeqState>('seq', 'burst', { type: 'get' }, 5_000);
    assert.is(state.count, N, 'each command applied exactly once');
    assert.is(new Set(state.keys).size, N);
  } finally {
    await host.stop();
    await hostConn.close();
    await clientConn.close();
    server.kill('SIGKILL');
    await opened!.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const ready = await requireService('nats-server binary', async () => {
  if (!NATS_BIN) throw new Error('nats-server is not installed');
});
const pg = await requirePostgres();
if (ready && pg) test.run();
