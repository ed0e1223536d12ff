import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { FenceSource } from '../ports/lock';

/** Fencing tokens in `retrain_fences`: one upsert per acquire, monotonic per key. */
export class SqlFences implements FenceSource {
  constructor(private readonly db: Db) {}

  async next(key: string): Promise<number> {
    const rows = rowsOf<{ token: string | number }>(
      await this.db.execute(sql`
        insert into retrain_fences (lock_key, token, updated_at) values (${key}, 1, now())
        on conflict (lock_key) do update set token = retrain_fences.token + 1, updated_at = now()
        returning token`),
    );
    return Number(rows[0]!.token);
  }

  /** The latest token of `key` (0 when never taken). */
  async current(key: string): Promise<number> {
    const rows = rowsOf<{ token: string | number }>(await this.db.execute(sql`select token from retrain_fences where lock_key = ${key}`));
    return rows.length ? Number(rows[0]!.token) : 0;
  }
}

/**
 * The SQL predicate a guarded write puts in its own statement: true only
 * while `token` is still the latest for `key`.
 */
export function fenceHolds(key: string, token: number): SQL {
  return sql`exists (select 1 from retrain_fences f where f.lock_key = ${key} and f.token = ${token})`;
}
