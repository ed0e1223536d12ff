import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UnavailableError } from '../../actors/errors';
import { ActorClient } from '../../control-plane/actor-host/client';
import { ActorHost } from '../../control-plane/actor-host/host';
import { ShardLeaseManager, shardOf } from '../../control-plane/actor-host/shards';
import { SqlActorStore } from '../../control-plane/adapters/sql-actor-store';
import { NatsBus } from '../../control-plane/bus/nats-bus';
import { systemClock } from '../../control-plane/ports/clock';
import type { Db } from '../../db/client';
import { openTestDatabase } from '../support/databases';
import { NATS_URL, requireNats, requirePostgres } from '../support/services';
import { sequenceBehaviour, type SeqState } from '../support/test-actors';

const SHARDS = 16;
const log = pino({ level: 'silent' });

interface Node {
  nc: NatsConnection;
  host: ActorHost;
  leases: ShardLeaseManager;
  handled: Set<string>;
}

async function startNode(db: Db, prefix: string, nodeId: string): Promise<Node> {
  const nc = await connect({ servers: NATS_URL });
  const handled = new Set<string>();
  const holder: { host?: ActorHost } = {};
  const leases = new ShardLeaseManager(db, {
    nodeId,
    shardCount: SHARDS,
    ttlMs: 1_500,
    renewEveryMs: 250,
    log,
    onGained: (s) => holder.host!.adopt(s),
    onLost: (s) => holder.host!.relinquish(s),
  });
  const host = new ActorHost({ bus: new NatsBus(nc), store: new SqlActorStore(db), clock: systemClock, log, prefix, ownership: leases });
  holder.host = host;
  const seq = sequenceBehaviour('seq');
  host.register({ ...seq, step: (state, msg, ctx) => (handled.add(ctx.id), seq.step(state, msg, ctx)) });
  await leases.start();
  return { nc, host, leases, handled };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Retries transport errors: commands sent during a hand-over may time out. */
async function ask(client: ActorClient, id: string, msg: { type: string } & Record<string, unknown>) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.ask('seq', id, msg, 1_000);
    } catch (err) {
      if (!(err instanceof UnavailableError) || attempt > 20) throw err;
    }
  }
}

const test = suite('actors shared by two nodes through shard leases');

test('shards split between live nodes; each actor runs on one node, in order; a dead node’s shards are taken over', async () => {
  const opened = await openTestDatabase('postgres', 'shards');
  assert.ok(opened);
  const db = opened!.database.db;
  const prefix = `s${randomBytes(4).toString('hex')}`;
  const clientConn = await connect({ servers: NATS_URL });
  const client = new ActorClient(new NatsBus(clientConn), prefix);
  const a = await startNode(db, prefix, 'node-a');
  const b = await startNode(db, prefix, 'node-b');
  try {
    await until(() => a.leases.owned.length === SHARDS / 2 && b.leases.owned.length === SHARDS / 2, 10_000, 'an even split');
    assert.equal([...a.leases.owned, ...b.leases.owned].sort((x, y) => x - y), Array.from({ length: SHARDS }, (_, i) => i), 'every shard held once');

    // 40 actors, 15 commands each, all sent at once: each actor in order, on its shard's node only.
    const ids = Array.from({ length: 40 }, (_, i) => `actor-${i}`);
    await Promise.all(ids.flatMap((id) => Array.from({ length: 15 }, (_, n) => ask(client, id, { type: 'seq', n, key: `${id}-${n}` }))));
    for (const id of ids) {
      const s = (await ask(client, id, { type: 'get' })) as SeqState;
      assert.equal([s.count, s.outOfOrder], [15, 0], id);
      const owner = a.leases.owned.includes(shardOf('seq', id, SHARDS)) ? a : b;
      const other = owner === a ? b : a;
      assert.ok(owner.handled.has(id) && !other.handled.has(id), `${id} ran on exactly one node`);
    }

    // Node B dies without a word: its leases lapse and A takes over everything.
    b.leases.halt();
    await b.host.stop();
    await b.nc.close();
    await until(() => a.leases.owned.length === SHARDS, 15_000, 'A holding every shard');
    for (const id of ids) {
      assert.equal(await ask(client, id, { type: 'seq', n: 15, key: `${id}-15` }), { count: 16 }, `${id} continues on A`);
    }
  } finally {
    await a.host.stop();
    await a.leases.stop();
    await a.nc.close();
    await clientConn.close();
    await opened!.close();
  }
});

const up = (await requireNats()) && (await requirePostgres());
if (up) test.run();
