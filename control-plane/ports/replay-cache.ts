/**
 * Remembers token ids until they expire, so each is accepted once. `claim`
 * is atomic across every node sharing the cache: of concurrent claims of one
 * key exactly one gets `true`. Throws ReplayCacheUnavailableError when it
 * cannot answer (callers fail closed).
 */
export interface ReplayCache {
  claim(key: string, expiresAt: Date): Promise<boolean>;
}
