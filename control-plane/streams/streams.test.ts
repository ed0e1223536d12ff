import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import postgres from 'postgres';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openDatabase } from '../../db/client';
import { openTestDatabase, type DbKind } from '../../test/support/databases';
import { ADMIN_DATABASE_URL, requireService } from '../../test/support/services';
import type { DurableStreams } from '../ports/stream';
import { JetStreamStreams } from './jetstream-streams';
import { SqlStreams } from './sql-streams';
import { streamsContract } from './streams.contract';

const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

// Probe first: a top-level await after a suite's .run() garbles uvu's output.
const natsUp = await requireService('NATS JetStream', async () => {
  const nc = await connect({ servers: NATS_URL, timeout: 2000 });
  try {
    await (await nc.jetstreamManager()).getAccountInfo();
  } finally {
    await nc.close();
  }
});
const pgUp = await requireService('PostgreSQL', async () => {
  const admin = postgres(ADMIN_DATABASE_URL, { max: 1, onnotice: () => undefined, connect_timeout: 3 });
  try {
    await admin`select 1`;
  } finally {
    await admin.end({ timeout: 1 });
  }
});

function sqlFixture(kind: DbKind) {
  return async () => {
    const opened = await openTestDatabase(kind, 'streams');
    if (!opened) throw new Error(`${kind} unavailable`);
    const { db } = opened.database;
    const instances: DurableStreams[] = [];
    const make = () => {
      const s = new SqlStreams(db, { pollMs: 25 });
      instances.push(s);
      return s;
    };
    return {
      streams: make(),
      another: async () => make(),
      close: async () => {
        for (const s of instances) await s.close();
        await opened.close();
      },
    };
  };
}

/** The embedded store really restarted: the PGlite folder closed and opened again. */
const restart = suite('SqlStreams across a restart of the embedded database');
restart('acked messages stay acked, the rest and the msgIds survive', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-streams-'));
  const enc = (s: string) => new TextEncoder().encode(s);
  try {
    let database = await openDatabase({ embeddedDir: dir });
    let streams = new SqlStreams(database.db, { pollMs: 25 });
    await streams.ensureStream({ name: 'alerts', subjects: ['alerts.>'], duplicateWindowMs: 60_000 });
    for (let i = 1; i <= 5; i++) await streams.publish(`alerts.t${i}`, enc(`a${i}`), `alert-${i}`);
    const before: number[] = [];
    const c1 = await streams.consume({ stream: 'alerts', durable: 'pager', ackWaitMs: 5_000 }, async (m) => {
      if (m.seq <= 3) await m.ack();
      before.push(m.seq);
    });
    while (before.length < 5) await new Promise((r) => setTimeout(r, 10));
    await c1.stop();
    await streams.close();
    await database.close();

    database = await openDatabase({ embeddedDir: dir });
    streams = new SqlStreams(database.db, { pollMs: 25 });
    assert.equal(await streams.publish('alerts.t1', enc('again'), 'alert-1'), { seq: 1, duplicate: true });
    assert.equal(await streams.publish('alerts.t6', enc('a6'), 'alert-6'), { seq: 6, duplicate: false });
    const after: [number, string][] = [];
    const c2 = await streams.consume({ stream: 'alerts', durable: 'pager', ackWaitMs: 5_000 }, async (m) => {
      after.push([m.seq, new TextDecoder().decode(m.data)]);
      await m.ack();
    });
    while (after.length < 3) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    await c2.stop();
    await streams.close();
    await database.close();
    assert.equal(after, [
      [4, 'a4'],
      [5, 'a5'],
      [6, 'a6'],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

restart.run();
streamsContract('SQL on PGlite', sqlFixture('pglite')).run();
if (pgUp) streamsContract('SQL on Postgres', sqlFixture('postgres')).run();
if (natsUp) {
  streamsContract('JetStream', async () => {
    const instances: DurableStreams[] = [];
    const make = async () => {
      const s = new JetStreamStreams(await connect({ servers: NATS_URL }));
      instances.push(s);
      return s;
    };
    const streams = await make();
    return {
      streams,
      another: make,
      close: async () => {
        // The contract deletes its streams through the first instance before this.
        for (const s of instances) await s.close();
      },
    };
  }).run();
}
