import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeEd25519Signer } from '../adapters/ed25519-signer';
import { AuditLog } from '../audit/audit-store';
import { ManualClock } from '../ports/clock';
import { rowsOf } from '../../db/rows';
import { modelArtifacts, modelVersions, tenants } from '../../db/schema';
import type { ModelState, ModelVersionId, TenantId } from '../../db/schema/enums';
import { openTestDatabase } from '../../test/support/databases';
import { FsArtifactStore } from './artifact-store';
import { collectArtifacts, scheduleRetention } from './retention';

const DAY = 86_400_000;
const test = suite('artifact retention');

test('keeps the last 5 and every champion; DRAFT/FAILED artifacts older than 7 days are removed, audited, once', async () => {
  const t = (await openTestDatabase('pglite', 'retention'))!;
  const root = mkdtempSync(join(tmpdir(), 'tg-retention-'));
  const clock = new ManualClock(Date.UTC(2026, 6, 1));
  const audit = new AuditLog(t.database.db, NodeEd25519Signer.generate(), clock);
  const artifacts = new FsArtifactStore(root);
  const db = t.database.db;
  try {
    await db.insert(tenants).values({ id: 'acme' as TenantId, name: 'Acme' });
    // Ten versions, one per day, oldest first; states chosen per index.
    const states: ModelState[] = ['CHAMPION', 'FAILED', 'DEPRECATED', 'FAILED', 'DRAFT', 'FAILED', 'VALIDATED', 'FAILED', 'DRAFT', 'FAILED'];
    const made: Array<{ id: string; state: ModelState; sha256: string }> = [];
    for (const [i, state] of states.entries()) {
      const at = new Date(clock.now().getTime() - (30 - i) * DAY);
      const stored = artifacts.put('acme', Buffer.from(`model ${i}`));
      const id = randomUUID() as ModelVersionId;
      await db.insert(modelVersions).values({ id, tenantId: 'acme' as TenantId, label: `v${i}`, featureSignature: 's', state, artifactSha256: stored.sha256, createdAt: at, updatedAt: at });
      await db.insert(modelArtifacts).values({ tenantId: 'acme' as TenantId, sha256: stored.sha256, modelVersionId: id, bytes: stored.bytes, kid: 'k', signature: 'sig', createdAt: at });
      made.push({ id, state, sha256: stored.sha256 });
    }
    const removed = await collectArtifacts({ db, audit, clock, artifacts });
    // Kept: v5..v9 (the last five), v0 CHAMPION, v2 DEPRECATED. Removed: v1, v3 (FAILED), v4 (DRAFT).
    assert.equal(removed.map((r) => r.sha256).sort(), [made[1]!.sha256, made[3]!.sha256, made[4]!.sha256].sort());
    for (const [i, m] of made.entries()) assert.is(artifacts.has('acme', m.sha256), ![1, 3, 4].includes(i), `v${i}`);
    await audit.flush();
    const entries = rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from audit_log where action = 'artifact.collected'`));
    assert.is(Number(entries[0]!.n), 3);
    assert.equal(await collectArtifacts({ db, audit, clock, artifacts }), [], 'a second pass removes nothing');
    // Young FAILED versions wait: a new failed version today is not collected even once outside the last 5.
    const deleted = rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from model_artifacts where deleted_at is not null`));
    assert.is(Number(deleted[0]!.n), 3, 'rows kept as a record, marked deleted');

    // The scheduled job runs daily on the injected clock.
    const fresh = artifacts.put('acme', Buffer.from('late failure'));
    const lateId = randomUUID() as ModelVersionId;
    await db.insert(modelVersions).values({ id: lateId, tenantId: 'acme' as TenantId, label: 'late', featureSignature: 's', state: 'FAILED', artifactSha256: fresh.sha256, createdAt: new Date(clock.now().getTime() - 40 * DAY), updatedAt: new Date(clock.now().getTime() - 40 * DAY) });
    await db.insert(modelArtifacts).values({ tenantId: 'acme' as TenantId, sha256: fresh.sha256, modelVersionId: lateId, bytes: fresh.bytes, kid: 'k', signature: 'sig', createdAt: new Date(clock.now().getTime() - 40 * DAY) });
    const errors: unknown[] = [];
    const stop = scheduleRetention({ db, audit, clock, artifacts, onError: (e) => errors.push(e) });
    clock.increment(DAY);
    for (let i = 0; i < 200 && artifacts.has('acme', fresh.sha256); i++) await new Promise((r) => setTimeout(r, 10));
    stop();
    assert.is(artifacts.has('acme', fresh.sha256), false);
    assert.equal(errors, []);
  } finally {
    await audit.stop();
    await t.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
