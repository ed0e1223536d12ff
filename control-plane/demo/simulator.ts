import type { Logger } from 'pino';
import { mulberry32 } from '../kernels/canary/sample';
import { inCanary } from '../routing/split';
import type { RidgeModel } from '../retrain/trainers/ridge';
import { predictWith } from '../retrain/trainers/ridge';
import { expectOk, type Call } from './api';
import { fieldsOf, forecast, observeField, trueYield, type Features, type Field } from './fields';
import { BACKFILL_DAYS, DAY_MS, DEMO_TENANTS, SCRIPT, demoArtifactDigest, NOTHING_SEEN, behaviourOf, dueActions, narrate, regimeOf, storyDay, type Action, type DemoTenant, type ModelView, type Observation, type Seen } from './story';

const HOUR_MS = 3_600_000;
/** Predictions per simulated hour and tenant (each labelled later). */
export const DEFAULT_RATE_PER_HOUR = 30;
const FIELDS_PER_TENANT = 40;
const LABEL_DELAY_MS = { min: 2 * HOUR_MS, spread: 2 * HOUR_MS };
const MAX_BATCH = 4_000;

export interface SimulatorOptions {
  call: Call;
  /** MANAGER (posts events, moves versions) and ADMIN (rollback) tokens. */
  tokens: { manager: string; admin: string };
  /** The node's time (the demo clock), in ms. */
  now(): number;
  log: Logger;
  seed?: number;
  ratePerHour?: number;
  /** Real ms between traffic ticks (the story is looked at every 4th tick). */
  tickMs?: number;
  /** Reads a retrained version's artifact when the node's data folder is local (in-process demo). */
  readArtifact?(tenantId: string, sha256: string): RidgeModel | null;
}

interface PendingLabel {
  due: number;
  event: LearningEvent;
}

interface LearningEvent {
  idempotencyKey: string;
  modelVersionId: string;
  ts: string;
  features: Features;
  prediction: number;
  predictionId?: string;
  actual?: number;
  role?: 'champion' | 'canary' | 'shadow';
}

interface TenantRun {
  tenant: DemoTenant;
  fields: Field[];
  rand: () => number;
  models: ModelView[];
  artifacts: Record<string, string | null>;
  forensicLock: boolean;
  pending: PendingLabel[];
  carry: number;
  seq: number;
  seen: Seen;
  candidates: Set<string>;
  narrated: boolean;
}

/**
 * Plays the data plane for the demo tenants: forecasts from whichever
 * version the routes say serves each request (champion, canary share, shadow
 * mirror), delayed observed yields, posted as learning events through the
 * ingestion API; carries out the scripted actions and logs every story beat.
 */
export class DemoSimulator {
  readonly #o: Required<Omit<SimulatorOptions, 'readArtifact' | 'seed'>> & Pick<SimulatorOptions, 'readArtifact'>;
  readonly #runs: TenantRun[];
  #storyStart = 0;
  #lastMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #ticks = 0;
  #ridge = new Map<string, RidgeModel | null>();
  #posted = 0;
  #ended = false;

  constructor(options: SimulatorOptions) {
    this.#o = { ratePerHour: DEFAULT_RATE_PER_HOUR, tickMs: 500, ...options };
    const seed = options.seed ?? 20261201;
    this.#runs = DEMO_TENANTS.map((tenant, i) => {
      const rand = mulberry32(seed + i * 7919);
      return { tenant, fields: fieldsOf(tenant.id, FIELDS_PER_TENANT, rand), rand, models: [], artifacts: {}, forensicLock: false, pending: [], carry: 0, seq: 0, seen: NOTHING_SEEN, candidates: new Set(), narrated: false };
    });
  }

  /** Learning events the node accepted so far. */
  get posted(): number {
    return this.#posted;
  }

  get storyStart(): number {
    return this.#storyStart;
  }

  /** Reads the demo tenants (they must exist) and the story's start: the first tenant's creation. */
  async attach(): Promise<void> {
    let start = Infinity;
    for (const run of this.#runs) {
      const t = await this.#call('GET', `/api/v1/tenants/${run.tenant.id}`);
      if (t.status === 404) throw new Error(`demo tenant ${run.tenant.id} does not exist on this node: start it with the demo on (npm start) to seed it`);
      if (t.status !== 200) throw new Error(`GET /api/v1/tenants/${run.tenant.id} → ${t.status} ${t.text.slice(0, 200)}`);
      start = Math.min(start, Date.parse(t.body.createdAt));
    }
    this.#storyStart = start;
    this.#lastMs = this.#o.now();
    await this.observe(false);
  }

  /**
   * Reports `days` of history before the story's start (predictions with
   * their yields), so the drift engine has a baseline at once.
   */
  async backfill(days = BACKFILL_DAYS): Promise<void> {
    const from = this.#storyStart - days * DAY_MS;
    const step = DAY_MS / 4;
    for (let at = from; at < this.#storyStart; at += step) {
      for (const run of this.#runs) {
        if (this.#stopped) return;
        await this.#post(run, this.#traffic(run, at, Math.min(at + step, this.#storyStart), true));
      }
    }
    this.#o.log.info({ beat: 'demo.backfill', days }, `demo: reported ${days} days of history for ${this.#runs.length} tenants`);
  }

  /** Runs until `stop()`. */
  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#running = this.tick()
        .catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'demo: a simulator step failed; the next one retries'))
        .finally(() => {
          this.#running = null;
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#o.tickMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** One step: the traffic since the last step, and every 4th step a look at the story. */
  async tick(): Promise<void> {
    const t0 = Date.now();
    const now = this.#o.now();
    if (this.#ticks++ % 4 === 0) await this.observe(true);
    const t1 = Date.now();
    const from = this.#lastMs;
    this.#lastMs = now;
    let posted = 0;
    if (storyDay(now, this.#storyStart) >= SCRIPT.endDay) {
      if (!this.#ended) this.#o.log.info({ beat: 'demo.end', day: SCRIPT.endDay }, `demo: the story is told (story day ${SCRIPT.endDay}); the simulator stops sending traffic. Delete the data folder to see it again.`);
      this.#ended = true;
      return;
    }
    for (const run of this.#runs) {
      if (this.#stopped) return;
      const events = this.#traffic(run, from, now, false);
      while (run.pending.length && run.pending[0]!.due <= now) events.push(run.pending.shift()!.event);
      posted += events.length;
      await this.#post(run, events);
    }
    this.#o.log.debug({ observeMs: t1 - t0, postMs: Date.now() - t1, posted, simulatedMinutes: Math.round((now - from) / 60_000) }, 'demo: tick');
  }

  /** Looks at every tenant: logs what changed, carries out the scripted actions that are due. */
  async observe(narrateBeats: boolean): Promise<void> {
    for (const run of this.#runs) {
      if (this.#stopped) return;
      const o = await this.#look(run);
      const { beats, seen } = narrate(run.seen, o);
      run.seen = seen;
      if (narrateBeats && run.narrated) for (const b of beats) this.#o.log.info({ tenantId: b.tenantId, beat: b.beat, ...b.data }, b.msg);
      else if (!run.narrated) this.#o.log.info({ tenantId: run.tenant.id, beat: 'demo.resume', models: o.models.map((m) => `${m.label}:${m.state}`).join(' '), reports: o.reports.length }, `${run.tenant.id}: ${run.tenant.name} (${run.tenant.crop}), ${run.tenant.plot} story`);
      run.narrated = true;
      const day = storyDay(this.#o.now(), this.#storyStart);
      for (const action of dueActions({ tenant: run.tenant, day, forensicLock: run.forensicLock, models: run.models }, new Set())) {
        await this.#carryOut(action);
      }
    }
  }

  async #look(run: TenantRun): Promise<Observation> {
    const id = run.tenant.id;
    const [tenant, models, drift, retrain] = await Promise.all([
      this.#call('GET', `/api/v1/tenants/${id}`),
      this.#call('GET', `/api/v1/tenants/${id}/models?limit=100`),
      this.#call('GET', `/api/v1/tenants/${id}/drift?limit=10`),
      this.#call('GET', `/api/v1/tenants/${id}/retrain`),
    ]);
    if (tenant.status === 200) run.forensicLock = !!tenant.body.forensicLock;
    if (models.status === 200) {
      const items = (models.body.items ?? []) as Array<ModelView & { artifactSha256: string | null }>;
      run.models = items.map((m) => ({ id: m.id, label: m.label, state: m.state, canaryTrafficPercent: m.canaryTrafficPercent, parentId: m.parentId, revision: m.revision }));
      for (const m of items) run.artifacts[m.id] = m.artifactSha256;
    }
    for (const m of run.models) if (m.state === 'SHADOW' || m.state === 'CANARY') run.candidates.add(m.id);
    const promotions: Observation['promotions'] = {};
    for (const mid of run.candidates) {
      const p = await this.#call('GET', `/api/v1/models/${mid}/promotion`);
      const promotion = p.body?.promotion;
      if (p.status !== 200 || !promotion) continue;
      promotions[mid] = { stage: promotion.stage, status: promotion.status, decision: promotion.evidence?.rule ?? promotion.evidence?.decision ?? null };
      if (!['running', 'awaiting_approval', 'held'].includes(promotion.status)) run.candidates.delete(mid);
    }
    const reports = drift.status === 200 ? ((drift.body.items ?? []) as Array<{ day: string; report: { score: number | null; level: string; breachStarted?: boolean; driftScore: number | null } }>) : [];
    const sagas = retrain.status === 200 ? [...(retrain.body.history ?? []).slice().reverse(), ...(retrain.body.saga ? [retrain.body.saga] : [])] : [];
    return {
      tenantId: id,
      models: run.models,
      forensicLock: run.forensicLock,
      reports: reports
        .slice()
        .reverse()
        .map((r) => ({ day: r.day, score: r.report.score, level: r.report.level, breachStarted: !!r.report.breachStarted, driftScore: r.report.driftScore })),
      sagas,
      promotions,
    };
  }

  async #carryOut(action: Action): Promise<void> {
    const { manager, admin } = this.#o.tokens;
    const log = (beat: string, msg: string, data: Record<string, unknown> = {}) => this.#o.log.info({ tenantId: action.tenantId, beat, ...data }, msg);
    switch (action.kind) {
      case 'registerCandidate': {
        const m = action.existingId
          ? await expectOk(this.#o.call, 'GET', `/api/v1/models/${action.existingId}`, undefined, manager, [200])
          : await expectOk(this.#o.call, 'POST', `/api/v1/tenants/${action.tenantId}/models`, { label: action.label, owner: action.owner, featureSignature: action.featureSignature, artifactSha256: demoArtifactDigest(action.tenantId, action.label) }, manager, [201]);
        let revision = m.body.revision as number;
        const path = ['DRAFT', 'TRAINING', 'VALIDATED', 'SHADOW'];
        for (const to of path.slice(path.indexOf(m.body.state as string) + 1)) {
          const r = await expectOk(this.#o.call, 'POST', `/api/v1/models/${m.body.id}/transitions`, { to, reason: 'demo: the data science team ships a candidate', idempotencyKey: `demo-${m.body.id}-${to}`, expectedRevision: revision }, manager, [200]);
          revision = r.body.revision as number;
        }
        log('candidate.shipped', `${action.tenantId}: the data science team ships ${action.label} into SHADOW (the demo manager registered it)`, { modelVersionId: m.body.id });
        return;
      }
      case 'deployShadow': {
        const m = await expectOk(this.#o.call, 'GET', `/api/v1/models/${action.modelId}`, undefined, manager, [200]);
        if (m.body.state !== 'VALIDATED') return;
        await expectOk(this.#o.call, 'POST', `/api/v1/models/${action.modelId}/transitions`, { to: 'SHADOW', reason: 'demo: the retrained version goes to shadow', idempotencyKey: `demo-shadow-${action.modelId}`, expectedRevision: m.body.revision }, manager, [200]);
        log('shadow.deployed', `${action.tenantId}: the demo manager puts retrained ${action.label} into SHADOW`, { modelVersionId: action.modelId });
        return;
      }
      case 'rollback': {
        const res = await this.#o.call('POST', `/api/v1/tenants/${action.tenantId}/rollback`, { reason: action.reason }, admin);
        if (res.status === 409) return; // already rolled back or locked: the story moved on
        if (res.status !== 200 && res.status !== 201) throw new Error(`rollback of ${action.tenantId} → ${res.status} ${res.text.slice(0, 200)}`);
        log('production.rollback', `${action.tenantId}: the on-call ADMIN rolls production back: ${action.reason}`);
        return;
      }
    }
  }

  /** Predictions between `from` and `to` (simulated ms), routed like the data plane routes them. */
  #traffic(run: TenantRun, from: number, to: number, history: boolean): LearningEvent[] {
    if (to <= from) return [];
    run.carry += ((to - from) / HOUR_MS) * this.#o.ratePerHour;
    const n = Math.min(Math.floor(run.carry), MAX_BATCH / 3);
    run.carry -= Math.floor(run.carry);
    const champion = run.models.find((m) => m.state === 'CHAMPION');
    if (!champion) return [];
    const canary = history ? undefined : run.models.find((m) => m.state === 'CANARY');
    const shadows = history ? [] : run.models.filter((m) => m.state === 'SHADOW');
    const events: LearningEvent[] = [];
    for (let i = 0; i < n; i++) {
      const ms = Math.floor(from + ((i + run.rand()) / n) * (to - from));
      const day = storyDay(ms, this.#storyStart);
      const field = run.fields[Math.floor(run.rand() * run.fields.length)]!;
      const features = observeField(field, regimeOf(run.tenant, day), run.rand);
      const actual = trueYield(features, ms, run.rand);
      const requestKey = `${field.id}:${ms}:${run.seq++}`;
      const serving = canary && inCanary(canary.id, requestKey, canary.canaryTrafficPercent ?? 0) ? canary : champion;
      const arms: Array<[ModelView, LearningEvent['role']]> = [[serving, serving === champion ? 'champion' : 'canary'], ...shadows.map((s) => [s, 'shadow'] as [ModelView, LearningEvent['role']])];
      for (const [model, role] of arms) {
        const predictionId = `${run.tenant.id}-${ms.toString(36)}-${run.seq.toString(36)}-${model.id.slice(0, 8)}`;
        const event: LearningEvent = { idempotencyKey: predictionId, modelVersionId: model.id, ts: new Date(ms).toISOString(), features, prediction: this.#forecast(run, model, features, ms, day), role };
        if (history) {
          events.push({ ...event, actual });
        } else {
          events.push({ ...event, predictionId });
          run.pending.push({ due: ms + LABEL_DELAY_MS.min + run.rand() * LABEL_DELAY_MS.spread, event: { ...event, idempotencyKey: `${predictionId}:label`, predictionId, actual } });
        }
      }
    }
    run.pending.sort((a, b) => a.due - b.due);
    return events;
  }

  #forecast(run: TenantRun, model: ModelView, features: Features, ms: number, day: number): number {
    const sha = run.artifacts[model.id];
    if (sha && this.#o.readArtifact) {
      const key = `${run.tenant.id}/${sha}`;
      if (!this.#ridge.has(key)) this.#ridge.set(key, this.#o.readArtifact(run.tenant.id, sha));
      const ridge = this.#ridge.get(key);
      if (ridge) return Math.round(predictWith(ridge, [{ features } as never])[0]! * 1000) / 1000;
    }
    return forecast(features, ms, behaviourOf(run.tenant, model, day), run.rand);
  }

  async #post(run: TenantRun, events: LearningEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_BATCH) {
      const batch = events.slice(i, i + MAX_BATCH);
      const res = await this.#call('POST', `/api/v1/tenants/${run.tenant.id}/events`, { events: batch }, this.#o.tokens.manager);
      if (res.status !== 200) {
        this.#o.log.warn({ tenantId: run.tenant.id, status: res.status, error: res.body?.error }, 'demo: a batch of learning events was refused');
        continue;
      }
      this.#posted += Number(res.body.accepted ?? 0) + Number(res.body.duplicates ?? 0);
      const rejected = (res.body.rejected ?? []) as Array<{ index: number; code: string; message: string }>;
      if (rejected.length) this.#o.log.debug({ tenantId: run.tenant.id, rejected: rejected.length, first: rejected[0] }, 'demo: events rejected');
    }
  }

  #call(method: string, path: string, body?: unknown, token = this.#o.tokens.manager) {
    return this.#o.call(method, path, body, token);
  }
}
