import type { DurableStreams, StreamConfig } from '../ports/stream';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The streams whose messages must not be lost, named under the deployment's subject prefix. */
export function coreStreams(prefix: string): { learning: StreamConfig; alerts: StreamConfig } {
  return {
    // Learning events: de-duplicated by their idempotency key, kept for window recomputation.
    learning: { name: `${prefix}_LEARNING`, subjects: [`${prefix}.learn.>`], duplicateWindowMs: HOUR, maxAgeMs: 35 * DAY },
    // Alerts: kept long enough for audits of acknowledgement SLAs.
    alerts: { name: `${prefix}_ALERTS`, subjects: [`${prefix}.alert.>`], duplicateWindowMs: HOUR, maxAgeMs: 90 * DAY },
  };
}

/** Creates or updates the core streams (idempotent; run at every start). */
export async function ensureCoreStreams(streams: DurableStreams, prefix: string): Promise<void> {
  const { learning, alerts } = coreStreams(prefix);
  await streams.ensureStream(learning);
  await streams.ensureStream(alerts);
}
