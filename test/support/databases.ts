import { openDatabase, type Database } from '../../db/client';
import { createTestDatabase } from './services';

export type DbKind = 'pglite' | 'postgres';

/**
 * Opens a fresh, migrated database of the given kind for one suite, or null
 * when Postgres is unreachable outside CI (the suite then says it skipped).
 */
export async function openTestDatabase(kind: DbKind, label: string): Promise<{ database: Database; close(): Promise<void> } | null> {
  if (kind === 'pglite') {
    const database = await openDatabase({ embeddedDir: 'memory://' });
    return { database, close: () => database.close() };
  }
  const created = await createTestDatabase(label);
  if (!created) return null;
  const database = await openDatabase({ url: created.url });
  return {
    database,
    close: async () => {
      await database.close();
      await created.drop();
    },
  };
}
