import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isActive, type RetrainState, type Saga } from '../../actors/retrain/behaviour';
import { DEFAULT_RETRAIN_POLICY, usageThisMonth, type RetrainPolicy } from '../../actors/retrain/safeguards';
import type { Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { actorState } from '../../db/schema';
import type { ActorClient } from '../actor-host/client';
import { decodeJson, encodeJson, PROTOCOL_VERSION } from '../actor-host/protocol';
import type { Bus, Subscription } from '../ports/bus';
import type { Clock } from '../ports/clock';
import type { RetrainStore } from './retrain-store';

/** What the drift engine publishes on `<prefix>.evt.<tenantId>.drift.breach`. */
const DriftBreach = z.object({ tenantId: z.string(), modelVersionId: z.string(), day: z.string(), score: z.number(), reportId: z.string() });

export const DRIFT_PRINCIPAL: Principal = { kind: 'system', name: 'drift', role: 'MANAGER' };

/**
 * The control-plane face of retraining: reads the facts the safeguards need,
 * sends the tenant's retrain actor its commands, turns drift breaches into
 * retrain requests, and reads the saga state for the console.
 */
export class RetrainService {
  constructor(
    private readonly db: Db,
    private readonly store: RetrainStore,
    private readonly actors: ActorClient,
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly policy: RetrainPolicy = DEFAULT_RETRAIN_POLICY,
    private readonly prefix = 'tg',
  ) {}

  /** Asks for a retrain; resolves with the saga or rejects with the safeguard's RetrainRefusedError. */
  async request(tenantId: string, by: Principal, reason: string, trigger: 'manual' | 'breach' = 'manual', breach?: z.infer<typeof DriftBreach>) {
    const { parentId, ...safeguardFacts } = await this.store.facts(tenantId);
    return this.actors.ask('retrain', tenantId, {
      type: 'request',
      sagaId: randomUUID(),
      trigger,
      reason,
      by,
      facts: { ...safeguardFacts, parentId },
      ...(breach ? { breach: { modelVersionId: breach.modelVersionId, day: breach.day, score: breach.score, reportId: breach.reportId } } : {}),
    });
  }

  /** An ADMIN closes the circuit breaker (audited by the port). */
  reset(tenantId: string, by: Principal, reason: string) {
    return this.actors.ask('retrain', tenantId, { type: 'reset', by, reason });
  }

  /** The saga and the safeguards as the console shows them. */
  async status(tenantId: string) {
    const [row] = await this.db
      .select({ state: actorState.state })
      .from(actorState)
      .where(and(eq(actorState.kind, 'retrain'), eq(actorState.id, tenantId)))
      .limit(1);
    const s = (row?.state as RetrainState | undefined) ?? null;
    const now = this.clock.now();
    const sg = s?.safeguards;
    const facts = await this.store.facts(tenantId);
    const days = this.policy.rateLimitDays[facts.stage];
    const nextAllowedAt = sg?.lastStartedAt ? new Date(Date.parse(sg.lastStartedAt) + days * 86_400_000).toISOString() : null;
    const used = sg ? usageThisMonth(sg, now) : { month: now.toISOString().slice(0, 7), gpuHours: 0, costUsd: 0 };
    const last = (k: keyof NonNullable<typeof sg>['lastRefusals']) => sg?.lastRefusals[k] ?? null;
    // The lease's owner id releases the mutex: it stays inside the control plane.
    const view = (saga: Saga) => ({ ...saga, lease: saga.lease ? { lockKey: saga.lease.lockKey, token: saga.lease.token } : undefined });
    return {
      tenantId,
      saga: s && isActive(s.saga) ? view(s.saga) : null,
      history: (s?.history ?? []).map(view),
      safeguards: {
        rateLimit: { days, stage: facts.stage, lastStartedAt: sg?.lastStartedAt ?? null, nextAllowedAt, lastRefusal: last('rateLimit') },
        cooldown: { featureSignature: facts.featureSignature, blacklistedUntil: facts.blacklistedUntil, lastRefusal: last('cooldown') },
        circuitBreaker: { state: sg?.circuitOpenedAt ? 'OPEN' : 'CLOSED', openedAt: sg?.circuitOpenedAt ?? null, consecutiveErrors: sg?.consecutiveErrors ?? 0, threshold: this.policy.breakerThreshold, lastRefusal: last('circuitBreaker') },
        quota: { month: used.month, gpuHours: used.gpuHours, gpuHoursLimit: this.policy.gpuHoursPerMonth, costUsd: used.costUsd, costUsdLimit: this.policy.spendUsdPerMonth, lastRefusal: last('quota') },
        forensicLock: { locked: facts.forensicLock, reason: facts.forensicLockReason, lastRefusal: last('forensicLock') },
        mutex: { held: !!(s && isActive(s.saga)), lastRefusal: last('mutex') },
        timeoutMs: this.policy.timeoutMs,
        deploys: facts.stage !== 'SHADOW_MODE',
      },
    };
  }

  /** Turns `drift.breach` events into retrain requests (one node of the queue group takes each). */
  listenForBreaches(): Subscription {
    return this.bus.subscribe(
      `${this.prefix}.evt.*.drift.breach`,
      (msg) => {
        void (async () => {
          try {
            const b = DriftBreach.parse(decodeJson(msg.data));
            const reason = `sustained drift: score ${b.score} on ${b.day} (report ${b.reportId}, model ${b.modelVersionId})`;
            const saga = await this.request(b.tenantId, DRIFT_PRINCIPAL, reason, 'breach', b);
            this.log.info({ tenantId: b.tenantId, saga }, 'retrain started by a drift breach');
          } catch (err) {
            // Refusals are audited by the retrain port; here they are only logged.
            this.log.info({ err: (err as Error).message, subject: msg.subject }, 'drift breach did not start a retrain');
          }
        })();
      },
      { queue: `${this.prefix}-retrain-breach` },
    );
  }

  /** After a start: every saga that was running when its node stopped is failed cleanly. */
  async resumeInterrupted(): Promise<string[]> {
    const rows = await this.db
      .select({ id: actorState.id })
      .from(actorState)
      .where(and(eq(actorState.kind, 'retrain'), sql`${actorState.state}->'saga' is not null and ${actorState.state}->'saga' <> 'null'::jsonb`));
    for (const { id } of rows) this.bus.publish(this.actors.subjectOf('retrain', id), encodeJson({ v: PROTOCOL_VERSION, type: 'resume' }));
    return rows.map((r) => r.id);
  }
}
