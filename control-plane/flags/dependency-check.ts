/**
 * A flag's dependencies against every other flag: each exists, none is the
 * flag itself, no cycle, and no chain longer than the evaluator follows.
 */
import { BadRequestError } from '../../actors/errors';
import { MAX_DEPENDENCY_DEPTH } from '../../actors/flags/evaluate';

const field = { details: { field: 'dependencies' } };

/** Throws a 400 naming `dependencies` when `key` may not depend on `dependencies`, given the other flags. */
export function checkDependencies(key: string, dependencies: readonly string[], flags: ReadonlyArray<{ key: string; dependencies: readonly string[] }>): void {
  if (dependencies.includes(key)) throw new BadRequestError(`dependencies: flag ${key} cannot depend on itself`, field);
  const graph = new Map<string, readonly string[]>(flags.map((f) => [f.key, f.dependencies]));
  const missing = dependencies.filter((d) => !graph.has(d));
  if (missing.length) throw new BadRequestError(`dependencies: no flag ${missing.join(', ')} (create it first)`, field);
  graph.set(key, dependencies);
  // Longest chain (in flags) from each flag, with the path walked so far to name a cycle.
  const longest = new Map<string, number>();
  const path: string[] = [];
  const walk = (k: string): number => {
    const at = path.indexOf(k);
    if (at >= 0) throw new BadRequestError(`dependencies: ${[...path.slice(at), k].join(' → ')} would be a cycle`, field);
    const known = longest.get(k);
    if (known !== undefined) return known;
    path.push(k);
    const n = 1 + Math.max(0, ...(graph.get(k) ?? []).map(walk));
    path.pop();
    longest.set(k, n);
    return n;
  };
  walk(key);
  for (const k of graph.keys()) {
    if (walk(k) > MAX_DEPENDENCY_DEPTH) throw new BadRequestError(`dependencies: chains deeper than ${MAX_DEPENDENCY_DEPTH} flags are refused`, field);
  }
}
