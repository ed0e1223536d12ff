/** Test helpers for feature flags: a run body that passes every gate, and flag definitions. */
export function goodRun(runId: string, over: Record<string, unknown> = {}) {
  return {
    runId,
    passRate: 0.9,
    avgScore: 4.2,
    topIssueRate: 0.05,
    avgLatencyMs: 90,
    p95LatencyMs: 105,
    vetoedShare: 0.02,
    errorRate: 0.004,
    timeoutRate: 0.002,
    manualCorrectionRate: 0.2,
    testsPassed: true,
    issues: { 'tag-mismatch': 3, 'slow-load': 1 },
    baseline: { passRate: 0.91, avgScore: 4.1, topIssueRate: 0.1, vetoedShare: 0.03 },
    ...over,
  };
}

export function flagBody(key: string, over: Record<string, unknown> = {}) {
  return {
    key,
    description: `flag ${key}`,
    owner: 'olga',
    audience: { users: ['ana', 'dev-1'], segments: ['ops'], percentage: 50 },
    profile: { name: 'aggressive', params: { depth: 3, tags: true }, targetLatencyMs: 100 },
    defaultProfile: { name: 'baseline', params: { depth: 1, tags: false } },
    ...over,
  };
}
