/**
 * The stable bucket of a subject for a flag: FNV-1a (32 bit) over
 * `<flagKey>:<subjectId>` (UTF-16 code units), finished with MurmurHash3's
 * fmix32 so that nearby ids spread evenly, then mod 10,000. Cheap enough to
 * run on every evaluation (tens of nanoseconds), identical in the control
 * plane and the SDK. A subject in the first p% stays in at every larger p.
 */
export const BUCKETS = 10_000;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The FNV state after `<flagKey>:`, computed once per flag. */
export function keySeed(flagKey: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < flagKey.length; i++) h = Math.imul(h ^ flagKey.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ 58, FNV_PRIME); // ':'
}

/** The bucket (0–9,999) of a subject, continuing from a flag's seed. */
export function bucketFromSeed(seed: number, subjectId: string): number {
  let h = seed;
  for (let i = 0; i < subjectId.length; i++) h = Math.imul(h ^ subjectId.charCodeAt(i), FNV_PRIME);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

export function bucketOf(flagKey: string, subjectId: string): number {
  return bucketFromSeed(keySeed(flagKey), subjectId);
}

/** How many of the 10,000 buckets a percentage (0–100, two decimals) covers. */
export function bucketsFor(percentage: number): number {
  return Math.round(Math.min(100, Math.max(0, percentage)) * 100);
}
