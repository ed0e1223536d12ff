import { createHash, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gte, isNull, lt } from 'drizzle-orm';
import type { Logger } from 'pino';
import { BadRequestError, NotFoundError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import {
  addDays,
  aggregateDay,
  buildBaseline,
  dayOf,
  DAY_MS,
  type Baseline,
  type DriftReportBody,
  type ObservedEvent,
} from '../../actors/tenant/drift-window';
import type { Db } from '../../db/client';
import { driftReports, learningEvents, tenants } from '../../db/schema';
import type { ModelVersionId, TenantId } from '../../db/schema/enums';
import { raiseAlert } from '../alerts/raise-alert';
import type { AuditLog } from '../audit/audit-store';
import { canonicalJson, toBase64Url } from '../audit/format';
import type { Bus } from '../ports/bus';
import type { Clock } from '../ports/clock';
import type { Signer } from '../ports/signer';
import type { DurableStreams } from '../ports/stream';
import { encodeJson, PROTOCOL_VERSION } from '../actor-host/protocol';
import type { DriftMetrics } from './drift-metrics';

const DRIFT = 'system:drift';
const PAGE = 5_000;

/** A stored report as the API returns it. */
export interface StoredReport {
  id: string;
  tenantId: string;
  day: string;
  modelVersionId: string | null;
  report: DriftReportBody;
  digest: string;
  kid: string;
  signature: string;
  createdAt: string;
}

/**
 * The drift window's I/O: recomputing a closed day (and a first baseline)
 * from the stored learning events, signing and storing reports, raising the
 * P2 alert of a sustained breach, and the baseline reset.
 */
export class DriftService {
  constructor(
    private readonly deps: {
      db: Db;
      signer: Signer;
      audit: AuditLog;
      streams: DurableStreams;
      bus: Bus;
      clock: Clock;
      prefix: string;
      log: Logger;
      metrics?: DriftMetrics;
    },
  ) {}

  /** The stored events of `[fromDay, toDay]` (UTC days, inclusive), oldest first. */
  async eventsBetween(tenantId: string, fromDay: string, toDay: string): Promise<ObservedEvent[]> {
    const from = new Date(`${fromDay}T00:00:00Z`);
    const to = new Date(Date.parse(`${toDay}T00:00:00Z`) + DAY_MS);
    const out: ObservedEvent[] = [];
    for (let lastId = 0; ; ) {
      const rows = await this.deps.db
        .select({
          id: learningEvents.id,
          ts: learningEvents.occurredAt,
          modelVersionId: learningEvents.modelVersionId,
          features: learningEvents.features,
          prediction: learningEvents.prediction,
          actual: learningEvents.actual,
        })
        .from(learningEvents)
        .where(
          and(
            eq(learningEvents.tenantId, tenantId as TenantId),
            eq(learningEvents.isLabel, false),
            isNull(learningEvents.outcome),
            gte(learningEvents.occurredAt, from),
            lt(learningEvents.occurredAt, to),
            gte(learningEvents.id, lastId + 1),
          ),
        )
        .orderBy(asc(learningEvents.id))
        .limit(PAGE);
      for (const r of rows) {
        out.push({
          ts: r.ts.toISOString(),
          modelVersionId: r.modelVersionId ?? '',
          features: r.features as Record<string, number>,
          prediction: r.prediction ?? 0,
          actual: r.actual,
        });
      }
      if (rows.length < PAGE) break;
      lastId = rows[rows.length - 1]!.id;
    }
    return out;
  }

  /**
   * Recomputes `day` from the store of record and answers the tenant actor
   * with `dayRecomputed` (runs in the background: the actor goes on meanwhile;
   * its retry timer asks again if this never answers).
   */
  recomputeDay(args: {
    tenantId: string;
    day: string;
    edges: Record<string, number[]> | null;
    baseline: { bins: number; fromDay: string; toDay: string; minEvents: number } | null;
  }): void {
    void (async () => {
      let baseline: Baseline | null = null;
      let edges = args.edges;
      if (args.baseline) {
        const events = await this.eventsBetween(args.tenantId, args.baseline.fromDay, args.baseline.toDay);
        if (events.length >= args.baseline.minEvents) {
          baseline = buildBaseline(events, {
            takenAt: this.deps.clock.now().toISOString(),
            fromDay: minDay(events),
            toDay: args.baseline.toDay,
            by: DRIFT,
            reason: `first ${events.length} learning events`,
            bins: args.baseline.bins,
          });
          edges = Object.fromEntries(Object.entries(baseline.features).map(([k, f]) => [k, f.edges]));
        }
      }
      const agg = aggregateDay(await this.eventsBetween(args.tenantId, args.day, args.day), edges);
      this.#tell(args.tenantId, { type: 'dayRecomputed', day: args.day, agg, baseline });
    })().catch((err: unknown) => this.deps.log.warn({ err, tenantId: args.tenantId, day: args.day }, 'could not recompute a drift day; the window retries'));
  }

  /**
   * Signs and stores a closed day's report (idempotent per tenant and day),
   * raises the P2 alert when it starts a sustained breach, and tells the
   * actor it is stored. Returns the events to publish.
   */
  async storeReport(tenantId: string, report: DriftReportBody): Promise<Array<{ tenantId: string; type: string; data: unknown }>> {
    const { db, signer, clock } = this.deps;
    const canonical = canonicalJson(report);
    const digestBytes = createHash('sha256').update(canonical).digest();
    const digest = digestBytes.toString('hex');
    const [tenant] = await db.select({ championId: tenants.championId }).from(tenants).where(eq(tenants.id, tenantId as TenantId));
    if (!tenant) throw new NotFoundError(`no tenant ${tenantId}`);
    const modelVersionId = tenant.championId ?? busiestModel(report);
    const id = randomUUID();
    const created = await db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const rows = await tx
        .insert(driftReports)
        .values({
          id,
          tenantId: tenantId as TenantId,
          modelVersionId: (modelVersionId || null) as ModelVersionId | null,
          day: report.day,
          metrics: JSON.parse(canonical) as object,
          score: report.score,
          driftScore: report.driftScore,
          breach: report.breach,
          digest,
          kid: signer.kid,
          signature: toBase64Url(signer.sign(digestBytes)),
        })
        .onConflictDoNothing({ target: [driftReports.tenantId, driftReports.day] })
        .returning({ id: driftReports.id });
      if (rows.length === 0) return false;
      await this.deps.audit.append(tx, {
        actor: DRIFT,
        action: report.breachStarted ? 'drift.breach' : 'drift.report',
        subject: `tenant:${tenantId}`,
        payload: { reportId: id, day: report.day, digest, score: report.score, driftScore: report.driftScore, streak: report.streak, breach: report.breach },
      });
      return true;
    });
    const stored = created ? id : ((await this.getReportByDay(tenantId, report.day))?.id ?? id);
    const events: Array<{ tenantId: string; type: string; data: unknown }> = [];
    if (created) {
      this.deps.metrics?.reported(tenantId, report);
      events.push({ tenantId, type: 'drift.report', data: { id: stored, tenantId, day: report.day, score: report.score, driftScore: report.driftScore, level: report.level, streak: report.streak, breach: report.breach } });
    }
    if (report.breachStarted) {
      const now = clock.now();
      const alert = await raiseAlert(
        db,
        this.deps.streams,
        this.deps.prefix,
        {
          tenantId,
          severity: 'P2',
          kind: 'drift.critical',
          dedupeKey: `drift:${tenantId}:${report.day}`,
          message: `Sustained drift on tenant ${tenantId}: PSI above ${report.thresholds.critical} for ${report.streak} consecutive days (day score ${fmt(report.score)}, 7-day DriftScore ${fmt(report.driftScore)})`,
          details: { reportId: stored, day: report.day, score: report.score, driftScore: report.driftScore, streak: report.streak, modelVersionId },
        },
        now,
      );
      if (alert.created && report.lastEventTs) this.deps.metrics?.detectionLatency((now.getTime() - Date.parse(report.lastEventTs)) / 1000, tenantId);
      if (created) events.push({ tenantId, type: 'drift.breach', data: { tenantId, modelVersionId, day: report.day, score: report.score, driftScore: report.driftScore, reportId: stored } });
    }
    this.#tell(tenantId, { type: 'reportStored', day: report.day });
    if (created && tenant.championId) this.#rollbackIfChampionBreaks(tenantId, tenant.championId, report);
    return events;
  }

  /**
   * The champion's RMSE above the tenant's absolute threshold, or its bias
   * beyond the bias threshold, on a closed day: production rolls back (the
   * tenant actor runs it like an ADMIN's rollback, audited as the drift
   * window's decision).
   */
  #rollbackIfChampionBreaks(tenantId: string, championId: string, report: DriftReportBody): void {
    const m = report.models[championId];
    const limits = report.rollback;
    if (!m || !limits) return;
    const why =
      limits.rmse !== null && m.rmse !== null && m.rmse > limits.rmse
        ? `champion RMSE ${m.rmse.toFixed(4)} on ${report.day} is above the tenant's threshold ${limits.rmse}`
        : limits.bias !== null && m.bias !== null && Math.abs(m.bias) > limits.bias
          ? `champion bias ${m.bias.toFixed(4)} on ${report.day} is beyond the tenant's threshold ±${limits.bias}`
          : null;
    if (!why) return;
    this.#tell(tenantId, { type: 'rollback', by: { kind: 'system', name: 'drift', role: 'ADMIN' }, reason: why, trigger: `drift-report:${report.day}` });
  }

  /** Audits a new baseline (automatic or an ADMIN's reset). */
  async auditBaseline(tenantId: string, baseline: Record<string, unknown>, by: Principal | null): Promise<void> {
    await this.deps.audit.append(this.deps.db, {
      actor: by ? actorOf(by) : DRIFT,
      action: by ? 'drift.baseline.reset' : 'drift.baseline.set',
      subject: `tenant:${tenantId}`,
      payload: baseline,
    });
  }

  /** Audits a change of a tenant's drift thresholds. */
  async auditConfig(tenantId: string, by: Principal, before: Record<string, unknown>, after: Record<string, unknown>): Promise<void> {
    await this.deps.audit.append(this.deps.db, { actor: actorOf(by), action: 'drift.config', subject: `tenant:${tenantId}`, payload: { before, after } });
  }

  /** The baseline an ADMIN's reset takes: the last `days` days of stored events, up to now. */
  async baselineFromCurrentWindow(tenantId: string, opts: { days: number; bins: number; reason: string; by: Principal }): Promise<Baseline> {
    const toDay = dayOf(this.deps.clock.now());
    const fromDay = addDays(toDay, -(opts.days - 1));
    const events = await this.eventsBetween(tenantId, fromDay, toDay);
    if (events.length === 0) throw new BadRequestError(`tenant ${tenantId} has no learning events from ${fromDay} to ${toDay} to take a baseline from`);
    const baseline = buildBaseline(events, { takenAt: this.deps.clock.now().toISOString(), fromDay, toDay, by: actorOf(opts.by), reason: opts.reason, bins: opts.bins });
    if (Object.keys(baseline.features).length === 0) throw new BadRequestError(`no feature of tenant ${tenantId} has two distinct values from ${fromDay} to ${toDay}; a baseline needs them`);
    return baseline;
  }

  /** Reports of a tenant, newest first. */
  async listReports(tenantId: string, opts: { limit: number; before?: string }): Promise<StoredReport[]> {
    const rows = await this.deps.db
      .select()
      .from(driftReports)
      .where(and(eq(driftReports.tenantId, tenantId as TenantId), opts.before ? lt(driftReports.day, opts.before) : undefined))
      .orderBy(desc(driftReports.day))
      .limit(opts.limit);
    return rows.map(toStored);
  }

  async getReportByDay(tenantId: string, day: string): Promise<StoredReport | null> {
    const [row] = await this.deps.db
      .select()
      .from(driftReports)
      .where(and(eq(driftReports.tenantId, tenantId as TenantId), eq(driftReports.day, day)));
    return row ? toStored(row) : null;
  }

  #tell(tenantId: string, message: Record<string, unknown>): void {
    try {
      this.deps.bus.publish(`${this.deps.prefix}.tenant.${tenantId}.cmd`, encodeJson({ v: PROTOCOL_VERSION, ...message }));
    } catch (err) {
      this.deps.log.warn({ err, tenantId, type: message.type }, 'could not tell the tenant actor; its retry timer asks again');
    }
  }
}

function toStored(r: typeof driftReports.$inferSelect): StoredReport {
  return {
    id: r.id,
    tenantId: r.tenantId,
    day: r.day,
    modelVersionId: r.modelVersionId,
    report: r.metrics as DriftReportBody,
    digest: r.digest,
    kid: r.kid,
    signature: r.signature,
    createdAt: r.createdAt.toISOString(),
  };
}

function busiestModel(report: DriftReportBody): string | null {
  let best: string | null = null;
  let n = -1;
  for (const [id, m] of Object.entries(report.models)) if (m.n > n) [best, n] = [id, m.n];
  return best;
}

function minDay(events: readonly ObservedEvent[]): string {
  let min = events[0]!.ts;
  for (const e of events) if (e.ts < min) min = e.ts;
  return dayOf(min);
}

function fmt(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(3);
}
