import { Hono } from 'hono';
import { BadRequestError } from '../../actors/errors';
import type { RoutingTable } from '../../control-plane/routing/routing-table';

const MAX_KEY = 512;

/** The data plane asks where a request goes (`/api/v1`), answered from memory. */
export function routingRoutes(routing: RoutingTable) {
  return new Hono().get('/tenants/:tenantId/route', async (c) => {
    const key = c.req.query('key');
    if (key === undefined || key === '') throw new BadRequestError('key: the request key is required (?key=…); the same key always lands on the same arm');
    if (key.length > MAX_KEY) throw new BadRequestError(`key: at most ${MAX_KEY} characters`);
    const segment = c.req.query('segment');
    return c.json(await routing.routeFresh(c.req.param('tenantId'), key, segment || undefined));
  });
}
