/**
 * Evaluation of flags for a subject, the same code in the control plane
 * (`GET /api/v1/flags/evaluate`) and in the OpenFeature provider. A flag set
 * is compiled once per change (sets for lists, the hash seed, one frozen
 * result per outcome) so that an evaluation allocates nothing.
 *
 * Rules, first match wins:
 *   killed → off (KILLED); a dependency off for the subject → off (DEPENDENCY);
 *   stage 4 → on (FULL); opted out → off (OPT_OUT); in the user list → on
 *   (USER_LIST); stage ≥ 1 and in a listed segment → on (SEGMENT); stage ≥ 2
 *   and opted in → on (OPT_IN); stage 3 → on when the subject's bucket is
 *   inside the percentage, else off (PERCENTAGE); otherwise off (STAGE).
 */
import { bucketFromSeed, bucketsFor, keySeed } from './hash';
import type { FlagConfig, FlagStage, Profile, Subject } from './model';

export const EVALUATION_REASONS = ['KILLED', 'DEPENDENCY', 'FULL', 'OPT_OUT', 'USER_LIST', 'SEGMENT', 'OPT_IN', 'PERCENTAGE', 'STAGE'] as const;
export type EvaluationReason = (typeof EVALUATION_REASONS)[number];

export interface Evaluation {
  readonly key: string;
  readonly value: boolean;
  readonly variant: 'on' | 'off';
  /** The active profile when on; the default profile when off. */
  readonly profile: Readonly<Profile>;
  readonly reason: EvaluationReason;
  readonly stage: FlagStage;
  readonly version: number;
}

/** Dependencies deeper than this are refused when a flag is saved; evaluation stops there too. */
export const MAX_DEPENDENCY_DEPTH = 8;

interface CompiledFlag {
  readonly config: FlagConfig;
  readonly seed: number;
  readonly buckets: number;
  readonly users: ReadonlySet<string>;
  readonly segments: ReadonlySet<string>;
  readonly results: Readonly<Record<EvaluationReason, Evaluation>>;
  readonly percentageOn: Evaluation;
}

function compile(config: FlagConfig): CompiledFlag {
  const results = {} as Record<EvaluationReason, Evaluation>;
  for (const reason of EVALUATION_REASONS) {
    const on = reason === 'FULL' || reason === 'USER_LIST' || reason === 'SEGMENT' || reason === 'OPT_IN';
    results[reason] = Object.freeze({
      key: config.key,
      value: on,
      variant: on ? 'on' : 'off',
      profile: Object.freeze(on ? config.profile : config.defaultProfile),
      reason,
      stage: config.stage,
      version: config.version,
    });
  }
  // PERCENTAGE is the one reason with both outcomes: `results.PERCENTAGE` is the off one, `percentageOn` the on one.
  return {
    config,
    seed: keySeed(config.key),
    buckets: bucketsFor(config.audience.percentage),
    users: new Set(config.audience.users),
    segments: new Set(config.audience.segments),
    results,
    percentageOn: Object.freeze({ ...results.PERCENTAGE, value: true, variant: 'on' as const, profile: Object.freeze(config.profile) }),
  };
}

function includes(list: readonly string[] | undefined, key: string): boolean {
  if (!list) return false;
  for (let i = 0; i < list.length; i++) if (list[i] === key) return true;
  return false;
}

/** An immutable, compiled set of flags; `with()` returns a new set with one flag replaced. */
export class FlagSet {
  readonly #flags: ReadonlyMap<string, CompiledFlag>;

  private constructor(flags: ReadonlyMap<string, CompiledFlag>) {
    this.#flags = flags;
  }

  static of(configs: Iterable<FlagConfig> = []): FlagSet {
    const m = new Map<string, CompiledFlag>();
    for (const c of configs) m.set(c.key, compile(c));
    return new FlagSet(m);
  }

  /** The set with `config` in place of the flag of the same key. */
  with(config: FlagConfig): FlagSet {
    const m = new Map(this.#flags);
    m.set(config.key, compile(config));
    return new FlagSet(m);
  }

  get(key: string): FlagConfig | undefined {
    return this.#flags.get(key)?.config;
  }

  keys(): string[] {
    return [...this.#flags.keys()];
  }

  configs(): FlagConfig[] {
    return [...this.#flags.values()].map((f) => f.config);
  }

  get size(): number {
    return this.#flags.size;
  }

  /** One flag for one subject; undefined when the set has no such flag. */
  evaluate(key: string, subject: Subject): Evaluation | undefined {
    const f = this.#flags.get(key);
    return f ? this.#evaluate(f, subject, 0) : undefined;
  }

  /** Every flag for one subject, in key order. */
  evaluateAll(subject: Subject): Evaluation[] {
    return [...this.#flags.keys()].sort().map((k) => this.#evaluate(this.#flags.get(k)!, subject, 0));
  }

  #evaluate(f: CompiledFlag, subject: Subject, depth: number): Evaluation {
    const c = f.config;
    if (c.killed) return f.results.KILLED;
    const deps = c.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const d = this.#flags.get(deps[i]!);
      if (!d || depth >= MAX_DEPENDENCY_DEPTH || !this.#evaluate(d, subject, depth + 1).value) return f.results.DEPENDENCY;
    }
    if (c.stage === 4) return f.results.FULL;
    if (includes(subject.optOut, c.key)) return f.results.OPT_OUT;
    if (f.users.has(subject.id)) return f.results.USER_LIST;
    if (c.stage >= 1 && f.segments.size > 0 && subject.segments) {
      const segs = subject.segments;
      for (let i = 0; i < segs.length; i++) if (f.segments.has(segs[i]!)) return f.results.SEGMENT;
    }
    if (c.stage >= 2 && includes(subject.optIn, c.key)) return f.results.OPT_IN;
    if (c.stage === 3) return bucketFromSeed(f.seed, subject.id) < f.buckets ? f.percentageOn : f.results.PERCENTAGE;
    return f.results.STAGE;
  }
}
