import { asc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import { auditHead, auditLog, auditQueue, signingKeys } from '../../db/schema';
import type { Clock } from '../ports/clock';
import type { Signer } from '../ports/signer';
import { canonicalJson, type AuditEntry } from './format';
import { sealEntry, type AuditInput } from './seal';
import { verifyChain, type VerifyReport } from './verify';
import { jwkVerifier } from '../adapters/ed25519-signer';
import type { Ed25519PublicJwk } from '../ports/signer';

const SEAL_BATCH = 500;
// A short wait lets records from concurrent requests share one sealing transaction: at 10 ms a
// lone client's every change paid a sealing transaction of its own (five statements and a
// second commit); at 40 ms a batch holds a few to a few dozen records, and nothing is visible
// later than that to anyone but a reader that calls flush() (they all do).
const KICK_DELAY_MS = 40;

const SEAL_EVERY_MS = 100;

/**
 * The audit log. A change writes its record into `audit_queue` inside its own
 * transaction (atomic with the change, no global lock); the sequencer chains,
 * signs and appends queued records to `audit_log` in batches, in queue order,
 * under the one-row head lock that serializes sequencers across nodes. Reads
 * that must see everything call `flush()` first.
 */
export class AuditLog {
  #sealing: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #kick: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly signer: Signer,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * Records an entry in `tx`: it is chained once `tx` has committed. Given
   * the database itself, the entry stands on its own (refusals).
   */
  async append(tx: Db, input: AuditInput): Promise<void> {
    // A JSON copy: values JSON cannot carry fail here, in the caller's transaction.
    const payload = JSON.parse(canonicalJson(input.payload)) as Record<string, unknown>;
    await tx.insert(auditQueue).values({ at: this.clock.now().toISOString(), actor: input.actor, action: input.action, subject: input.subject, payload });
    this.kick();
  }

  /** Seals on a timer as well as after appends (records of other nodes, missed kicks). */
  start(): void {
    this.#timer ??= setInterval(() => void this.#idlePass(), SEAL_EVERY_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#kick) clearTimeout(this.#kick);
    this.#timer = this.#kick = null;
    await this.#sealing.catch(() => undefined);
  }

  /** Chains everything queued so far; resolves when the queue is empty. */
  async flush(): Promise<void> {
    for (;;) {
      const sealed = await this.#enqueuePass();
      if (sealed === 0) return;
    }
  }

  /** Asks for a sealing pass shortly (after the caller's commit, usually). */
  kick(): void {
    this.#kick ??= setTimeout(() => {
      this.#kick = null;
      void this.#pass();
    }, KICK_DELAY_MS);
  }

  /** The timer's pass: one cheap read when nothing is queued (the usual case), not a locking transaction. */
  async #idlePass(): Promise<void> {
    try {
      const [any] = await this.db.select({ id: auditQueue.id }).from(auditQueue).limit(1);
      if (!any) return;
    } catch (err) {
      this.onError(err);
      return;
    }
    await this.#pass();
  }

  async #pass(): Promise<void> {
    try {
      while ((await this.#enqueuePass()) === SEAL_BATCH);
    } catch (err) {
      this.onError(err);
    }
  }

  /** One sealing transaction at a time in this process. */
  #enqueuePass(): Promise<number> {
    const run = this.#sealing.catch(() => undefined).then(() => this.#sealBatch());
    this.#sealing = run;
    return run;
  }

  /**
   * One batch in one transaction: lock the head, read the queue (a statement
   * of its own, so its snapshot is taken after the lock and cannot see
   * records another sequencer has just sealed), then append, dequeue and
   * move the head in one statement, which refuses to move the head unless it
   * dequeued exactly the records it sealed.
   */
  async #sealBatch(): Promise<number> {
    return this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      // Sent together (one round trip), run in order: the queue read is still a statement of its
      // own that starts once the head lock is held, so its snapshot is taken after the lock.
      const [[head], queued] = await Promise.all([
        tx.select({ seq: auditHead.seq, hash: auditHead.hash }).from(auditHead).where(eq(auditHead.id, 1)).for('update'),
        tx.select().from(auditQueue).orderBy(asc(auditQueue.id)).limit(SEAL_BATCH),
      ]);
      if (!head) throw new Error('audit_head is missing: the migrations did not run');
      if (queued.length === 0) return 0;
      let prev: { seq: number; hash: string } = head;
      const entries = queued.map((q) => (prev = sealEntry({ actor: q.actor, action: q.action, subject: q.subject, payload: q.payload as Record<string, unknown> }, prev, new Date(q.at), this.signer)));
      const moved = rowsOf<{ seq: unknown }>(
        await tx.execute(sql`
          with appended as (
            insert into audit_log (seq, at, actor, action, subject, payload, payload_digest, prev_hash, hash, kid, signature)
            select seq, at, actor, action, subject, payload, "payloadDigest", "prevHash", hash, kid, signature
              from jsonb_to_recordset(${JSON.stringify(entries)}::jsonb)
                as e(seq bigint, at text, actor text, action text, subject text, payload jsonb, "payloadDigest" text, "prevHash" text, hash text, kid text, signature text)
          ), dequeued as (
            delete from audit_queue where id = any(${`{${queued.map((q) => q.id).join(',')}}`}::bigint[]) returning id
          )
          update audit_head set seq = ${prev.seq}, hash = ${prev.hash}
           where id = 1 and (select count(*) from dequeued) = ${queued.length}
          returning seq`),
      );
      if (moved.length !== 1) throw new Error('audit queue changed under the sequencer; batch rolled back');
      return queued.length;
    });
  }

  /** Publishes this node's public key so any verifier can check its entries. */
  async registerKey(db: Db): Promise<void> {
    await db
      .insert(signingKeys)
      .values({ kid: this.signer.kid, alg: 'EdDSA', publicKeyJwk: this.signer.publicKeyJwk })
      .onConflictDoNothing();
  }
}

export function toEntry(row: typeof auditLog.$inferSelect): AuditEntry {
  return { ...row };
}

export async function readAudit(db: Db, after: number, limit: number): Promise<AuditEntry[]> {
  const rows = await db.select().from(auditLog).where(gt(auditLog.seq, after)).orderBy(asc(auditLog.seq)).limit(limit);
  return rows.map(toEntry);
}

export async function listKeys(db: Db): Promise<Array<{ kid: string; alg: string; publicKeyJwk: Ed25519PublicJwk }>> {
  const rows = await db.select().from(signingKeys).orderBy(asc(signingKeys.createdAt));
  return rows.map((r) => ({ kid: r.kid, alg: r.alg, publicKeyJwk: r.publicKeyJwk as Ed25519PublicJwk }));
}

/** Streams the whole log in pages, in sequence order. */
export async function* iterateAudit(db: Db, pageSize = 1000): AsyncGenerator<AuditEntry> {
  let after = 0;
  for (;;) {
    const page = await readAudit(db, after, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.seq;
  }
}

/** Recomputes the stored chain and every signature against the registered keys. */
export async function verifyStoredChain(db: Db): Promise<VerifyReport> {
  const keys = new Map((await listKeys(db)).map((k) => [k.kid, jwkVerifier(k.publicKeyJwk)]));
  const entries: AuditEntry[] = [];
  for await (const e of iterateAudit(db)) entries.push(e);
  return verifyChain(entries, (kid, message, signature) => {
    const verify = keys.get(kid);
    return verify ? verify(message, signature) : 'unknown-key';
  });
}
