/**
 * The demo's crop-yield world (pure, seeded): fields with a soil quality,
 * daily weather, a season, and the true yield (t/ha) a field will give.
 * The demo models forecast it; the simulator reports both as learning events.
 */

export const FEATURES = ['ndvi', 'temp_c', 'rain_mm', 'soil_n'] as const;
export type Features = Record<(typeof FEATURES)[number], number>;

/** Weather regime of a tenant's region: normal, or a heat wave with drought (the drift). */
export type Regime = 'normal' | 'heatwave';

export interface Field {
  id: string;
  /** 0 (poor) … 1 (rich): drives NDVI and soil nitrogen. */
  soil: number;
}

/** `count` fields of a tenant, the same for the same seed. */
export function fieldsOf(tenantId: string, count: number, rand: () => number): Field[] {
  return Array.from({ length: count }, (_, i) => ({ id: `${tenantId}-field-${String(i + 1).padStart(3, '0')}`, soil: rand() }));
}

/** A standard normal draw (Box–Muller) from a uniform generator. */
export function gaussian(rand: () => number): number {
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Seasonal yield swing (t/ha) on a UTC day of the year: higher towards the northern summer. */
export function seasonOf(ms: number): number {
  const start = Date.UTC(new Date(ms).getUTCFullYear(), 0, 1);
  const dayOfYear = (ms - start) / 86_400_000;
  return 0.8 * Math.sin((2 * Math.PI * (dayOfYear - 100)) / 365);
}

/** One field observation: the features a model sees when it forecasts. */
export function observeField(field: Field, regime: Regime, rand: () => number): Features {
  const heat = regime === 'heatwave';
  return {
    ndvi: round(clamp(0.2 + 0.65 * field.soil + 0.05 * gaussian(rand), 0.05, 0.95), 3),
    temp_c: round((heat ? 28 : 22) + 2 * gaussian(rand), 2),
    rain_mm: round(Math.max(0, (heat ? 35 : 60) + 15 * gaussian(rand)), 1),
    soil_n: round(10 + 110 * field.soil + 5 * gaussian(rand), 1),
  };
}

/** What every demo model knows: the agronomic formula (no heat stress). */
export function formulaYield(f: Features, ms: number): number {
  return 1.5 + 8 * f.ndvi + 0.02 * f.soil_n + 0.01 * (f.rain_mm - 60) + seasonOf(ms);
}

/** Yield lost to heat stress above 26 °C (the part the old champions never saw). */
export function heatPenalty(f: Features): number {
  return 0.08 * Math.max(0, f.temp_c - 26) ** 2;
}

/** The yield the field will actually give (observed later, as the label). */
export function trueYield(f: Features, ms: number, rand: () => number): number {
  return round(Math.max(0, formulaYield(f, ms) - heatPenalty(f) + 0.4 * gaussian(rand)), 3);
}

/**
 * How a simulated model forecasts: the formula with its own noise and bias;
 * `knowsHeat` models include the heat-stress term.
 */
export interface ModelBehaviour {
  noiseSd: number;
  bias: number;
  knowsHeat: boolean;
}

export function forecast(f: Features, ms: number, b: ModelBehaviour, rand: () => number): number {
  const base = formulaYield(f, ms) - (b.knowsHeat ? heatPenalty(f) : 0);
  return round(base + b.bias + b.noiseSd * gaussian(rand), 3);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
