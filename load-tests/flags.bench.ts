/**
 * Feature-flag evaluation in process (issue #11): `npm run bench:flags`.
 *
 * Informational only: it never fails because of a time. One process, no
 * services. 50 flags over every stage (user lists, segments, percentages,
 * dependencies), 10,000 subjects; each round times, one after the other on
 * the same (flag, subject) sequence:
 *
 *   object lookup   `values[key]` on a plain object of precomputed booleans:
 *                   the baseline, what an in-memory cache costs at best;
 *   evaluate        `provider.evaluate(key, subject)`: the SDK's hot path
 *                   (the control plane's evaluator over the compiled set);
 *   resolve         `await provider.resolveBooleanEvaluation(...)`: the
 *                   OpenFeature Provider call (async: one promise per call);
 *   client          `await client.getBooleanValue(...)`: what an application
 *                   calls, through the OpenFeature SDK (context merging,
 *                   hooks, event details) onto the provider;
 *   client (in-memory)  the same call onto the SDK's own InMemoryProvider
 *                   (one static flag): what the SDK costs with any provider.
 *
 * Figures: evaluations/s per round (median over rounds) and the ratio to the
 * object lookup of the same round. Knobs: BENCH_ROUNDS (10), BENCH_PER_ROUND
 * (1,000,000).
 */
import { performance } from 'node:perf_hooks';
import type { FlagConfig, Subject } from '../actors/flags/model';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { TollgateFlagsProvider } from '../sdk/openfeature';

/** The provider without its live channel: the benchmark measures evaluation only. */
class OfflineProvider extends TollgateFlagsProvider {
  override async initialize(): Promise<void> {}
}
import { describeMachine, envInt } from './support/load';
import { markdownTable, percentile } from './support/stats';

const ROUNDS = envInt('BENCH_ROUNDS', 10, 2, 1000);
const PER_ROUND = envInt('BENCH_PER_ROUND', 1_000_000, 1_000, 100_000_000);
// The OpenFeature client is ~30× slower per call than the rest: fewer calls keep a round short.
const CLIENT_PER_ROUND = Math.max(1_000, Math.floor(PER_ROUND / 20));

function flags(): FlagConfig[] {
  return Array.from({ length: 50 }, (_, i) => ({
    key: `feature-${i}`,
    stage: (i % 5) as FlagConfig['stage'],
    killed: i % 17 === 0,
    audience: { users: Array.from({ length: 10 }, (_, u) => `user-${u * 97 + i}`), segments: i % 3 === 0 ? ['ops', 'beta'] : ['ops'], percentage: (i * 7) % 100 },
    dependencies: i % 10 === 9 ? [`feature-${i - 1}`] : [],
    profile: { name: 'on', params: { depth: 3 }, targetLatencyMs: 100 },
    defaultProfile: { name: 'off', params: { depth: 1 } },
    version: 1,
  }));
}

async function main(): Promise<void> {
  const configs = flags();
  const provider = new OfflineProvider({ url: 'http://127.0.0.1:1', token: 'bench-token-unused', bootstrap: configs });
  const keys = configs.map((c) => c.key);
  const subjects: Subject[] = Array.from({ length: 10_000 }, (_, i) => ({ id: `user-${i}`, ...(i % 4 === 0 ? { segments: ['ops'] } : {}), ...(i % 9 === 0 ? { optIn: ['feature-2', 'feature-7'] } : {}) }));
  const contexts = subjects.map((s) => ({ targetingKey: s.id, ...(s.segments ? { segments: [...s.segments] } : {}), ...(s.optIn ? { optIn: [...s.optIn] } : {}) }));
  const values: Record<string, boolean> = Object.fromEntries(keys.map((k) => [k, provider.evaluate(k, subjects[0]!)!.value]));
  const K = keys.length;
  const S = subjects.length;

  let sink = 0;
  const lookup = () => {
    for (let i = 0; i < PER_ROUND; i++) if (values[keys[i % K]!]) sink++;
  };
  const evaluate = () => {
    for (let i = 0; i < PER_ROUND; i++) if (provider.evaluate(keys[i % K]!, subjects[i % S]!)!.value) sink++;
  };
  const resolve = async () => {
    for (let i = 0; i < PER_ROUND; i++) if ((await provider.resolveBooleanEvaluation(keys[i % K]!, false, contexts[i % S]!)).value) sink++;
  };
  await OpenFeature.setProviderAndWait('bench', provider);
  const client = OpenFeature.getClient('bench');
  const viaClient = async () => {
    for (let i = 0; i < CLIENT_PER_ROUND; i++) if (await client.getBooleanValue(keys[i % K]!, false, contexts[i % S]!)) sink++;
  };
  await OpenFeature.setProviderAndWait('bench-inmemory', new InMemoryProvider(Object.fromEntries(keys.map((k) => [k, { variants: { on: true, off: false }, defaultVariant: values[k] ? 'on' : 'off', disabled: false }]))));
  const inMemory = OpenFeature.getClient('bench-inmemory');
  const viaInMemory = async () => {
    for (let i = 0; i < CLIENT_PER_ROUND; i++) if (await inMemory.getBooleanValue(keys[i % K]!, false, contexts[i % S]!)) sink++;
  };
  const time = async (fn: () => unknown, n = PER_ROUND) => {
    const t0 = performance.now();
    await fn();
    return n / ((performance.now() - t0) / 1000);
  };
  // Warm-up: let the JIT settle on every path.
  for (let w = 0; w < 2; w++) {
    lookup();
    evaluate();
    await resolve();
    await viaClient();
    await viaInMemory();
  }
  const rows: Array<{ lookup: number; evaluate: number; resolve: number; client: number; inMemory: number }> = [];
  for (let r = 0; r < ROUNDS; r++) rows.push({ lookup: await time(lookup), evaluate: await time(evaluate), resolve: await time(resolve), client: await time(viaClient, CLIENT_PER_ROUND), inMemory: await time(viaInMemory, CLIENT_PER_ROUND) });
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 0.5);
  const m = { lookup: median(rows.map((r) => r.lookup)), evaluate: median(rows.map((r) => r.evaluate)), resolve: median(rows.map((r) => r.resolve)), client: median(rows.map((r) => r.client)), inMemory: median(rows.map((r) => r.inMemory)) };
  const ratio = (k: 'evaluate' | 'resolve' | 'client' | 'inMemory') => median(rows.map((r) => r[k] / r.lookup));
  const M = (x: number) => `${(x / 1e6).toFixed(2)} M/s`;
  console.log(describeMachine([['Rounds', `${ROUNDS} × ${PER_ROUND.toLocaleString('en')} evaluations (OpenFeature client rows: ${CLIENT_PER_ROUND.toLocaleString('en')}); 50 flags, 10,000 subjects`]]).join('\n'));
  console.log('');
  console.log(
    markdownTable(
      ['path', 'evaluations/s (median of rounds)', 'ratio to object lookup (median of per-round ratios)'],
      [
        ['object lookup (baseline)', M(m.lookup), '1'],
        ['provider.evaluate (sync hot path)', M(m.evaluate), ratio('evaluate').toFixed(3)],
        ['provider.resolveBooleanEvaluation (await)', M(m.resolve), ratio('resolve').toFixed(3)],
        ['OpenFeature client.getBooleanValue (await)', M(m.client), ratio('client').toFixed(4)],
        ['same, onto the SDK InMemoryProvider (reference)', M(m.inMemory), ratio('inMemory').toFixed(4)],
      ],
    ),
  );
  console.log(`\ntarget ≥ 1 M evaluations/s in process: ${m.evaluate >= 1e6 ? 'met' : 'missed'} (evaluate), ${m.resolve >= 1e6 ? 'met' : 'missed'} (resolve), ${m.client >= 1e6 ? 'met' : 'missed'} (OpenFeature client)`);
  await OpenFeature.close();
  if (sink < 0) console.log(sink);
}

await main();
