import { sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeEd25519Signer } from '../../control-plane/adapters/ed25519-signer';
import { AuditLog, readAudit, verifyStoredChain } from '../../control-plane/audit/audit-store';
import { ManualClock } from '../../control-plane/ports/clock';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import { openTestDatabase, type DbKind } from '../support/databases';
import { requirePostgres } from '../support/services';

interface Ctx {
  db: Db;
  nodes: AuditLog[];
  close(): Promise<void>;
}

function sequencerSuite(kind: DbKind) {
  const test = suite<Ctx>(`audit sequencer on ${kind}`, {} as Ctx);
  test.before(async (ctx) => {
    const opened = await openTestDatabase(kind, 'sequencer');
    if (!opened) throw new Error('database unavailable');
    ctx.db = opened.database.db;
    const clock = new ManualClock();
    // Two nodes, two keys, one chain.
    ctx.nodes = [0, 1].map(() => new AuditLog(ctx.db, NodeEd25519Signer.generate(), clock));
    for (const n of ctx.nodes) await n.registerKey(ctx.db);
    ctx.close = async () => {
      for (const n of ctx.nodes) await n.stop();
      await opened.close();
    };
  });
  test.after(async (ctx) => ctx.close());

  test('a record queued by a transaction that rolls back never reaches the chain', async ({ db, nodes }) => {
    await db
      .transaction(async (tx) => {
        await nodes[0]!.append(tx as unknown as Db, { actor: 'system:test', action: 'doomed', subject: 'x', payload: {} });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await nodes[0]!.append(db, { actor: 'system:test', action: 'kept', subject: 'x', payload: { n: 1 } });
    await nodes[0]!.flush();
    const actions = (await readAudit(db, 0, 1000)).map((e) => e.action);
    assert.equal(actions, ['kept']);
  });

  test('two nodes appending and sequencing at once leave one gapless chain that verifies with both keys', async ({ db, nodes }) => {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const node = nodes[i % 2]!;
      writes.push(db.transaction((tx) => node.append(tx as unknown as Db, { actor: `system:node-${i % 2}`, action: 'tick', subject: `s${i}`, payload: { i } })));
      if (i % 25 === 0) writes.push(nodes[(i + 1) % 2]!.flush());
    }
    await Promise.all(writes);
    await Promise.all(nodes.map((n) => n.flush()));
    // Under load one node may have sealed everything above; each node now seals
    // one record while the other's timer is stopped, so both keys are in the chain.
    for (const [me, other] of [[0, 1], [1, 0]] as const) {
      await nodes[other]!.stop();
      await nodes[me]!.append(db, { actor: `system:node-${me}`, action: 'tick', subject: 'last', payload: { me } });
      await nodes[me]!.flush();
      nodes[other]!.start();
    }
    const entries = await readAudit(db, 0, 10_000);
    assert.is(entries.length, 203);
    entries.forEach((e, i) => assert.is(e.seq, i + 1));
    assert.is(new Set(entries.map((e) => e.kid)).size, 2, 'both nodes sealed some');
    const report = await verifyStoredChain(db);
    assert.ok(report.ok, report.reason);
    const [left] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from audit_queue`));
    assert.is(Number(left!.n), 0, 'nothing left queued');
  });

  return test;
}

const pg = await requirePostgres();
sequencerSuite('pglite').run();
if (pg) sequencerSuite('postgres').run();
