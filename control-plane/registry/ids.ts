/** Tenant ids, as the database's check constraint has them. */
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Model version ids are UUIDs; anything else cannot name one. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
