import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { Db } from '../../db/client';
import { iterateAudit, readAudit, verifyStoredChain, type AuditLog } from '../../control-plane/audit/audit-store';
import { intParam } from '../middleware/body';

/** The audit log: read, verify, export (operators); each read first chains what is queued. */
export function auditRoutes(db: Db, audit: AuditLog) {
  return new Hono()
    .get('/audit', async (c) => {
      await audit.flush();
      const after = intParam(c.req.query('after'), 'after', 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = intParam(c.req.query('limit'), 'limit', 100, 1, 1000);
      return c.json({ entries: await readAudit(db, after, limit) });
    })
    .get('/audit/verify', async (c) => {
      await audit.flush();
      return c.json(await verifyStoredChain(db));
    })
    .get('/audit/export', async (c) => {
      await audit.flush();
      c.header('content-type', 'application/x-ndjson; charset=utf-8');
      c.header('content-disposition', 'attachment; filename="tollgate-audit.jsonl"');
      return stream(c, async (s) => {
        for await (const entry of iterateAudit(db)) await s.write(`${JSON.stringify(entry)}\n`);
      });
    });
}

