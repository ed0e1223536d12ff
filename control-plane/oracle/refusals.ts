import { Counter, type Registry } from 'prom-client';
import type { Db } from '../../db/client';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';

/** Audited refusals per (partner, reason) per window; the rest are only counted. */
export const AUDITED_PER_WINDOW = 5;
/** Audited refusals per window across every key: a flood cannot grow the log faster than this. */
export const AUDITED_PER_WINDOW_TOTAL = 100;
export const SAMPLE_WINDOW_MS = 60_000;

export interface Refusal {
  /** A registered partner, or null when the caller could not be identified. */
  partnerId: string | null;
  code: string;
  status: number;
  message: string;
}

/**
 * Every refusal of a partner request: counted per partner and reason in
 * /metrics, and audited — the first few per (partner, reason) and window in
 * full, then one summary entry with the number left out, so a flood of bad
 * tokens cannot be turned into a flood of audit rows.
 */
export class RefusalRecorder {
  readonly counter: Counter<'partner' | 'reason'>;
  #windowStart = 0;
  #perKey = new Map<string, number>();
  #total = 0;
  #suppressed = new Map<string, number>();

  constructor(
    registry: Registry,
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.counter = new Counter({
      name: 'tollgate_oracle_refusals_total',
      help: 'Oracle requests refused, by partner (or "unknown") and reason code',
      labelNames: ['partner', 'reason'] as const,
      registers: [registry],
    });
  }

  record(r: Refusal): void {
    // Unknown callers share one label: a label per claimed kid would let anyone grow /metrics.
    const partner = r.partnerId ?? 'unknown';
    this.counter.inc({ partner, reason: r.code });
    const now = this.clock.now().getTime();
    if (now - this.#windowStart >= SAMPLE_WINDOW_MS) this.#roll(now);
    const key = `${partner}\u0000${r.code}`;
    const seen = (this.#perKey.get(key) ?? 0) + 1;
    this.#perKey.set(key, seen);
    if (seen > AUDITED_PER_WINDOW || this.#total >= AUDITED_PER_WINDOW_TOTAL) {
      this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
      return;
    }
    this.#total++;
    this.#write('oracle.request.refused', partner, { code: r.code, status: r.status, message: r.message });
  }

  /** Writes the summaries of the window that ended (also called on shutdown). */
  flushSummaries(): void {
    for (const [key, count] of this.#suppressed) {
      const [partner, code] = key.split('\u0000') as [string, string];
      this.#write('oracle.request.refusals.sampled', partner, { code, notAudited: count, windowStart: new Date(this.#windowStart).toISOString(), windowMs: SAMPLE_WINDOW_MS });
    }
    this.#suppressed.clear();
  }

  #roll(now: number): void {
    this.flushSummaries();
    this.#windowStart = now;
    this.#perKey.clear();
    this.#total = 0;
  }

  #write(action: string, partner: string, payload: Record<string, unknown>): void {
    void this.audit.append(this.db, { actor: `partner:${partner}`, action, subject: 'oracle', payload }).catch(this.onError);
  }
}
