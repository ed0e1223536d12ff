import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { NotFoundError, PayloadTooLargeError } from '../actors/errors';
import type { Db } from '../db/client';
import type { AuditLog } from '../control-plane/audit/audit-store';
import type { IdentityService } from '../control-plane/identity/identity-service';
import type { ActorClient } from '../control-plane/actor-host/client';
import type { RegistryService } from '../control-plane/registry/registry-service';
import { errorResponse } from './errors';
import { requestIds } from './middleware/request-id';
import { nodeBindings } from './node-bindings';
import type { Metrics } from './metrics';
import { operatorAuth } from './middleware/auth';
import { auditRoutes } from './routes/audit';
import { keyRotationRoutes, keysRoutes } from './routes/keys';
import type { Signer } from '../control-plane/ports/signer';
import type { NodeKeyRotation } from '../control-plane/keys/node-key-rotation';
import { httpTracing } from './middleware/tracing';
import { activeTraceId, traceIdOfHeader } from '../control-plane/observability/tracing';
import { healthRoutes, type ReadinessCheck } from './routes/health';
import { clockRoutes, type ClockInfo } from './routes/clock';
import { registryRoutes } from './routes/registry';
import { userRoutes } from './routes/users';
import { ingestionRoutes } from './routes/ingestion';
import { driftRoutes } from './routes/drift';
import { routingRoutes } from './routes/routing';
import { alertRoutes } from './routes/alerts';
import { impactRoutes } from './routes/impact';
import type { AlertService } from '../control-plane/alerts/alert-service';
import type { RoutingTable } from '../control-plane/routing/routing-table';
import type { DriftService } from '../control-plane/drift/drift-service';
import type { IngestionService } from '../control-plane/ingestion/ingest';
import type { SourceRegistry } from '../control-plane/ingestion/sources';
import type { RetrainService } from '../control-plane/retrain/retrain-service';
import { retrainRoutes } from './routes/retrain';
import type { Governance } from '../control-plane/governance';
import { governanceRoutes } from './routes/governance';
import { runGoverned } from '../control-plane/governance';
import type { Oracle } from '../control-plane/oracle';
import { oracleRoutes } from './routes/oracle';
import { oracleAdminRoutes } from './routes/oracle-admin';
import type { FlagService } from '../control-plane/flags/flag-service';
import { flagRoutes } from './routes/flags';
import { approvalRoutes } from './routes/approvals';
import { consoleRoutes } from './routes/console-static';

export const MAX_BODY_BYTES = 256 * 1024;
/** Learning-event batches (up to 5,000 events) get more room. */
export const MAX_EVENT_BATCH_BYTES = 8 * 1024 * 1024;
const EVENTS_PATH = /^\/api\/v1\/tenants\/[^/]+\/events$/;

/** A GET or HEAD that announces no body (no Content-Length, no Transfer-Encoding). */
export function bodiless(method: string, contentLength: string | undefined, transferEncoding: string | undefined): boolean {
  return (method === 'GET' || method === 'HEAD') && contentLength === undefined && transferEncoding === undefined;
}

/** 256 KB per body (chunked included), 8 MB for event batches. */
function limitBodies(): MiddlewareHandler {
  const tooLarge = (maxSize: number) => new PayloadTooLargeError(`the body is larger than ${maxSize} bytes`);
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw tooLarge(maxSize);
      },
    });
  const normal = limit(MAX_BODY_BYTES);
  const batches = limit(MAX_EVENT_BATCH_BYTES);
  return async function limitBodies(c, next) {
    // No body announced on a GET/HEAD: reading c.req.raw.body would make the node
    // adapter build a full Request for nothing (a large share of a small request's CPU).
    const declared = c.req.header('content-length');
    const chunked = c.req.header('transfer-encoding') !== undefined;
    if (bodiless(c.req.method, declared, chunked ? 'chunked' : undefined)) return next();
    const events = EVENTS_PATH.test(c.req.path);
    // On node, a body with a Content-Length is exactly that long (the HTTP parser enforces it):
    // checking the number is the limit. Hono's bodyLimit would wrap the body's web stream, which
    // makes the node adapter build a full Request (about a tenth of a small command's CPU); the
    // API's handlers read bodies as text, which the adapter then reads straight from the socket.
    if (declared !== undefined && !chunked && /^\d+$/.test(declared) && nodeBindings(c) !== undefined && c.req.path.startsWith('/api/v1/')) {
      const max = events ? MAX_EVENT_BATCH_BYTES : MAX_BODY_BYTES;
      if (Number(declared) > max) throw tooLarge(max);
      return next();
    }
    return (events ? batches : normal)(c, next);
  };
}

export interface AppDeps {
  db: Db;
  audit: AuditLog;
  registry: RegistryService;
  actors: ActorClient;
  ingestion: IngestionService;
  sources: SourceRegistry;
  drift: DriftService;
  routing: RoutingTable;
  alerts: AlertService;
  identity: IdentityService;
  governance: Governance;
  metrics: Metrics;
  log: Logger;
  readiness: ReadinessCheck[];
  retrain?: RetrainService;
  /** The node's clock for `GET /api/v1/clock` (accelerated in demo mode). */
  clock?: ClockInfo;
  oracle: Pick<Oracle, 'partners' | 'exposure' | 'snapshots' | 'auth'>;
  signer: Signer;
  keyRotation: NodeKeyRotation;
  flags?: FlagService;
  /** The built console (`console/dist` by default). */
  consoleDir?: string;
}

/** The whole HTTP surface; `app.request()` drives it in tests. */
export function createApp(deps: AppDeps) {
  const api = new Hono()
    .route('/', keysRoutes(deps.db, deps.signer))
    .use('*', operatorAuth({ authenticate: (token) => deps.identity.authenticate(token) }))
    .route('/', registryRoutes(deps.registry, deps.actors))
    .route('/', auditRoutes(deps.db, deps.audit))
    .route('/', userRoutes(deps.identity, deps.registry))
    .route('/', ingestionRoutes(deps.ingestion, deps.sources, deps.registry))
    .route('/', driftRoutes(deps.drift, deps.registry, deps.actors, (by, action, params, unlockId) => runGoverned(deps.db, deps.audit, by, (tx) => deps.governance.gate.requireUnlock(tx, action, params, unlockId, by))))
    .route('/', routingRoutes(deps.routing))
    .route('/', alertRoutes(deps.alerts, deps.registry))
    .route('/', governanceRoutes({ ...deps.governance, registry: deps.registry }))
    .route('/', keyRotationRoutes(deps.keyRotation, deps.registry))
    .route('/', oracleAdminRoutes(deps.oracle.partners, deps.oracle.exposure, deps.registry))
    .route('/', approvalRoutes(deps.db))
    .route('/', impactRoutes(deps.db));
  if (deps.retrain) api.route('/', retrainRoutes(deps.retrain, deps.registry));
  if (deps.flags) api.route('/', flagRoutes(deps.flags));
  if (deps.clock) api.route('/', clockRoutes(deps.clock));

  const app = new Hono()
    .use('*', requestIds())
    .use('*', httpTracing())
    .use('*', deps.metrics.middleware)
    .use('*', limitBodies())
    .route('/', healthRoutes(deps.readiness, deps.metrics))
    .route('/oracle/v1', oracleRoutes(deps.oracle.snapshots, deps.oracle.auth))
    .route('/api/v1', api)
    // The console's static files at `/` (after every API route, never shadowing one).
    .route('/', consoleRoutes(deps.consoleDir));

  // The request's logger is made only when an error is logged (most requests never log).
  const requestLog = (c: Context) => {
    // traceId: the request's span, or the caller's traceparent when tracing is off.
    const traceId = activeTraceId() ?? traceIdOfHeader(c.req.header('traceparent'));
    return deps.log.child({ requestId: c.var.requestId, ...(traceId ? { traceId } : {}) });
  };
  app.notFound((c) => errorResponse(new NotFoundError(`no route ${c.req.method} ${c.req.path}`), c));
  app.onError((err, c) => errorResponse(err, c, () => requestLog(c)));
  return app;
}
export type App = ReturnType<typeof createApp>;
