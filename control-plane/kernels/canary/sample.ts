/**
 * Seeded sampling for the guard's simulations and fixtures (tests, and any
 * offline power study): the same seed gives the same numbers on every run.
 */

/** mulberry32: a 32-bit seeded generator of uniforms in [0, 1). Fast and good enough for Monte Carlo of this size. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with exponential draws of the given mean (sd = mean), by inversion: -mean·ln(1 - u). */
export function fillExponential(out: Float64Array, mean: number, uniform: () => number): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = -mean * Math.log(1 - uniform());
  return out;
}
