import { createHash } from 'node:crypto';

/** Buckets of the canary split: traffic shares have a resolution of 0.01 %. */
export const BUCKETS = 10_000;

/**
 * The bucket of a request key for one canary: the first 4 bytes of
 * SHA-256(`<canaryId>:<key>`) modulo 10,000. Deterministic (the same key
 * always lands on the same arm of a canary), independent across canaries
 * (another version reshuffles), and monotone in the traffic share: a key in
 * the 1 % wave stays in the canary at 10 % and 50 %.
 */
export function bucketOf(canaryId: string, key: string): number {
  return createHash('sha256').update(`${canaryId}:${key}`).digest().readUInt32BE(0) % BUCKETS;
}

/** Whether a key goes to the canary at `trafficPercent` (0–100). */
export function inCanary(canaryId: string, key: string, trafficPercent: number): boolean {
  return trafficPercent > 0 && bucketOf(canaryId, key) < Math.round(trafficPercent * (BUCKETS / 100));
}
