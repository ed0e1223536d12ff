import { and, inArray } from 'drizzle-orm';
import type { Logger } from 'pino';
import { NotFoundError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { modelVersions, tenants } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import type { Bus, Subscription } from '../ports/bus';
import { TENANT_ID } from '../registry/ids';
import { inCanary } from './split';

/** Where one tenant's requests go. */
export interface TenantRoutes {
  champion: { id: string; modelHash: string | null } | null;
  canary: { id: string; modelHash: string | null; trafficPercent: number } | null;
  shadows: string[];
  criticalSegments: ReadonlySet<string>;
  /** While the canary's traffic is at most `restrictedUntilPercent`, only these segments reach it. */
  restrictedSegments: ReadonlySet<string>;
  restrictedUntilPercent: number;
}

export interface RouteAnswer {
  modelVersionId: string;
  role: 'champion' | 'canary';
  /** Versions that receive a copy of the request and are never served. */
  shadow: string[];
  /** The served version's artifact digest. */
  modelHash: string | null;
}

/** The events after which a tenant's routes are read again. */
const EVENT_TYPES = ['tenant.created', 'model.transitioned', 'tenant.rollback', 'tenant.updated', 'canary.traffic'];

/**
 * Every node's in-memory routing table: loaded at start, then each tenant's
 * entry is read again from the database whenever an event says its routes
 * may have changed (events are published after the change committed, on
 * every node). Lookups never touch the database.
 */
export class RoutingTable {
  readonly #routes = new Map<string, TenantRoutes>();
  readonly #subs: Subscription[] = [];
  /** Per tenant: a reload running, and whether another is wanted after it. */
  readonly #reloading = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const type of EVENT_TYPES) {
      this.#subs.push(
        this.bus.subscribe(`${this.prefix}.evt.*.${type}`, (msg) => {
          const tenantId = msg.subject.split('.')[2]!;
          if (type === 'model.transitioned' && !this.#mayRoute(tenantId, msg.data)) return;
          void this.reload(tenantId);
        }),
      );
    }
    const all = await this.db.select({ id: tenants.id }).from(tenants);
    await this.#load(all.map((t) => t.id));
  }

  /**
   * Whether a transition can change the tenant's routes: the version is now
   * routed (CHAMPION, CANARY, SHADOW) or was until now. Other moves (DRAFT →
   * TRAINING, QUARANTINED …) cost no reload.
   */
  #mayRoute(tenantId: string, data: Uint8Array): boolean {
    let model: { id?: unknown; state?: unknown };
    try {
      model = JSON.parse(new TextDecoder().decode(data)) as typeof model;
    } catch {
      return true;
    }
    if (model.state === 'CHAMPION' || model.state === 'CANARY' || model.state === 'SHADOW') return true;
    const r = this.#routes.get(tenantId);
    return !r || r.champion?.id === model.id || r.canary?.id === model.id || r.shadows.includes(model.id as string);
  }

  stop(): void {
    for (const s of this.#subs.splice(0)) s.unsubscribe();
  }

  /** Reads one tenant's routes again; concurrent calls coalesce into one more read. */
  reload(tenantId: string): Promise<void> {
    const running = this.#reloading.get(tenantId);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.#load([tenantId]);
        } while (entry.again);
      } catch (err) {
        this.log.warn({ err, tenantId }, 'could not reload routes');
      } finally {
        this.#reloading.delete(tenantId);
      }
    })();
    this.#reloading.set(tenantId, entry);
    return entry.done;
  }

  /** The version that serves `key` for a tenant, from memory. */
  route(tenantId: string, key: string, segment?: string): RouteAnswer {
    const r = this.#routes.get(tenantId);
    if (!r) throw new NotFoundError(`no tenant ${tenantId}`);
    if (!r.champion) throw new NotFoundError(`tenant ${tenantId} has no champion to route to yet`);
    const canary = r.canary;
    if (canary && this.#segmentMayCanary(r, canary.trafficPercent, segment) && inCanary(canary.id, key, canary.trafficPercent)) {
      return { modelVersionId: canary.id, role: 'canary', shadow: r.shadows, modelHash: canary.modelHash };
    }
    return { modelVersionId: r.champion.id, role: 'champion', shadow: r.shadows, modelHash: r.champion.modelHash };
  }

  /**
   * Business-critical segments never reach a canary; the first waves (up to
   * `restrictedUntilPercent`) reach only the restricted segments, when the
   * tenant names some.
   */
  #segmentMayCanary(r: TenantRoutes, trafficPercent: number, segment: string | undefined): boolean {
    if (segment !== undefined && r.criticalSegments.has(segment)) return false;
    if (r.restrictedSegments.size > 0 && trafficPercent <= r.restrictedUntilPercent) return segment !== undefined && r.restrictedSegments.has(segment);
    return true;
  }

  /**
   * Like `route`, but a tenant this node has not heard of yet (its
   * `tenant.created` event may still be on the way) is read from the
   * database once before the answer is "no tenant".
   */
  async routeFresh(tenantId: string, key: string, segment?: string): Promise<RouteAnswer> {
    if (!this.#routes.has(tenantId) && TENANT_ID.test(tenantId)) await this.reload(tenantId);
    return this.route(tenantId, key, segment);
  }

  /** A tenant's routes as held in memory (the console and tests). */
  routesOf(tenantId: string): TenantRoutes | undefined {
    return this.#routes.get(tenantId);
  }

  async #load(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000) as TenantId[];
      const [tenantRows, versionRows] = await Promise.all([
        this.db.select({ id: tenants.id, criticalSegments: tenants.criticalSegments, policy: tenants.rolloutPolicy }).from(tenants).where(inArray(tenants.id, chunk)),
        this.db
          .select({ id: modelVersions.id, tenantId: modelVersions.tenantId, state: modelVersions.state, hash: modelVersions.artifactSha256, traffic: modelVersions.canaryTrafficPercent })
          .from(modelVersions)
          .where(and(inArray(modelVersions.tenantId, chunk), inArray(modelVersions.state, ['CHAMPION', 'CANARY', 'SHADOW']))),
      ]);
      const next = new Map<string, TenantRoutes>();
      for (const t of tenantRows) {
        next.set(t.id, {
          champion: null,
          canary: null,
          shadows: [],
          criticalSegments: new Set(t.criticalSegments),
          restrictedSegments: new Set(t.policy.restrictedSegments ?? []),
          restrictedUntilPercent: t.policy.restrictedUntilPercent ?? 1,
        });
      }
      for (const v of versionRows) {
        const r = next.get(v.tenantId);
        if (!r) continue;
        if (v.state === 'CHAMPION') r.champion = { id: v.id, modelHash: v.hash };
        else if (v.state === 'SHADOW') r.shadows.push(v.id);
        else if (v.state === 'CANARY' && (!r.canary || v.traffic > r.canary.trafficPercent)) r.canary = { id: v.id, modelHash: v.hash, trafficPercent: v.traffic };
      }
      for (const id of chunk) {
        const r = next.get(id);
        if (r) this.#routes.set(id, r);
        else this.#routes.delete(id);
      }
    }
  }
}
