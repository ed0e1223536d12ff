import { Gauge, type Registry } from 'prom-client';

/** Tenants given their own series in a per-tenant gauge; the rest only count in the aggregate. */
export const TOP_TENANT_SERIES = 20;
/** Tenants remembered at all (memory bound; the oldest is forgotten beyond it). */
const MAX_TRACKED = 100_000;

export interface BoundedTenantGaugeOptions {
  registry: Registry;
  /** `<name>{tenant}` for the top N, `<name>_aggregate{stat}` over every tenant, `<name>_tenants` how many. */
  name: string;
  help: string;
  /** Which end is "top": the highest values (drift) or the lowest (accuracy). */
  worst: 'highest' | 'lowest';
  topN?: number;
}

/**
 * A per-tenant gauge whose label cardinality stays bounded however many
 * tenants there are: the N worst tenants get their own series (the ones an
 * operator needs to see), and an aggregate (mean, min, max) covers all.
 */
export class BoundedTenantGauge {
  readonly #values = new Map<string, number>();

  constructor(o: BoundedTenantGaugeOptions) {
    const topN = o.topN ?? TOP_TENANT_SERIES;
    const values = this.#values;
    new Gauge({
      name: o.name,
      help: `${o.help} (the ${topN} ${o.worst === 'highest' ? 'highest' : 'lowest'} tenants only; see ${o.name}_aggregate)`,
      labelNames: ['tenant'] as const,
      registers: [o.registry],
      collect() {
        this.reset();
        const sorted = [...values].sort((a, b) => (o.worst === 'highest' ? b[1] - a[1] : a[1] - b[1]) || a[0].localeCompare(b[0]));
        for (const [tenant, v] of sorted.slice(0, topN)) this.set({ tenant }, v);
      },
    });
    new Gauge({
      name: `${o.name}_aggregate`,
      help: `${o.help}, over every tenant`,
      labelNames: ['stat'] as const,
      registers: [o.registry],
      collect() {
        this.reset();
        const all = [...values.values()];
        if (!all.length) return;
        this.set({ stat: 'mean' }, all.reduce((s, v) => s + v, 0) / all.length);
        this.set({ stat: 'min' }, Math.min(...all));
        this.set({ stat: 'max' }, Math.max(...all));
      },
    });
    new Gauge({
      name: `${o.name}_tenants`,
      help: `Tenants with a value in ${o.name}`,
      registers: [o.registry],
      collect() {
        this.set(values.size);
      },
    });
  }

  set(tenantId: string, value: number): void {
    if (!Number.isFinite(value)) return;
    this.#values.delete(tenantId);
    if (this.#values.size >= MAX_TRACKED) this.#values.delete(this.#values.keys().next().value!);
    this.#values.set(tenantId, value);
  }

  delete(tenantId: string): void {
    this.#values.delete(tenantId);
  }
}
