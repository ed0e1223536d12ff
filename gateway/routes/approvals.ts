import { Hono } from 'hono';
import type { Db } from '../../db/client';
import { pendingApprovals } from '../../control-plane/live/pending-approvals';
import { intParam } from '../middleware/body';

/** The approvals queue (`/api/v1`): versions awaiting a MANAGER, with their evidence. Any role reads it. */
export function approvalRoutes(db: Db) {
  return new Hono().get('/approvals/pending', async (c) => {
    const limit = intParam(c.req.query('limit'), 'limit', 100, 1, 500);
    return c.json({ items: await pendingApprovals(db, limit) });
  });
}
