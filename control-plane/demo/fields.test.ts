import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mulberry32 } from '../kernels/canary/sample';
import { fieldsOf, forecast, formulaYield, heatPenalty, observeField, seasonOf, trueYield, type Features } from './fields';

const test = suite('demo: crop-yield generator');
const DAY = 86_400_000;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('the same seed gives the same fields, weather and yields', () => {
  const run = (seed: number) => {
    const rand = mulberry32(seed);
    const fields = fieldsOf('t', 5, rand);
    return fields.map((f) => {
      const x = observeField(f, 'normal', rand);
      return [f.id, f.soil, x, trueYield(x, Date.UTC(2026, 5, 1), rand)];
    });
  };
  assert.equal(run(7), run(7));
  assert.not.equal(run(7), run(8));
});

test('a heat wave shifts temperature up and rain down; soil and NDVI stay', () => {
  const rand = mulberry32(1);
  const fields = fieldsOf('t', 40, rand);
  const sample = (regime: 'normal' | 'heatwave') => Array.from({ length: 4000 }, (_, i) => observeField(fields[i % 40]!, regime, rand));
  const normal = sample('normal');
  const heat = sample('heatwave');
  const m = (xs: Features[], k: keyof Features) => mean(xs.map((x) => x[k]));
  assert.ok(Math.abs(m(normal, 'temp_c') - 22) < 0.2);
  assert.ok(Math.abs(m(heat, 'temp_c') - 28) < 0.2);
  assert.ok(m(heat, 'rain_mm') < m(normal, 'rain_mm') - 20);
  assert.ok(Math.abs(m(heat, 'ndvi') - m(normal, 'ndvi')) < 0.01);
  assert.ok(Math.abs(m(heat, 'soil_n') - m(normal, 'soil_n')) < 2);
  for (const x of [...normal, ...heat]) {
    assert.ok(x.ndvi >= 0.05 && x.ndvi <= 0.95);
    assert.ok(x.rain_mm >= 0);
  }
});

test('heat stress costs yield only above 26 °C, growing with the square', () => {
  const f = (temp_c: number): Features => ({ ndvi: 0.6, temp_c, rain_mm: 60, soil_n: 60 });
  assert.is(heatPenalty(f(20)), 0);
  assert.is(heatPenalty(f(26)), 0);
  assert.ok(Math.abs(heatPenalty(f(28)) - 0.32) < 1e-9);
  assert.ok(Math.abs(heatPenalty(f(30)) - 1.28) < 1e-9);
});

test('yields follow the season: higher in the northern summer than in winter', () => {
  assert.ok(seasonOf(Date.UTC(2026, 6, 10)) > 0.5);
  assert.ok(seasonOf(Date.UTC(2026, 0, 10)) < -0.5);
  assert.ok(Math.abs(seasonOf(Date.UTC(2026, 3, 10)) - seasonOf(Date.UTC(2026, 3, 10) + DAY)) < 0.02, 'smooth day to day');
});

test('in a heat wave the old formula over-forecasts; a model that knows heat does not', () => {
  const rand = mulberry32(3);
  const fields = fieldsOf('t', 40, rand);
  const at = Date.UTC(2026, 5, 1);
  const errors = (knowsHeat: boolean) => {
    const e: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const x = observeField(fields[i % 40]!, 'heatwave', rand);
      e.push(forecast(x, at, { noiseSd: 0.3, bias: 0, knowsHeat }, rand) - trueYield(x, at, rand));
    }
    return e;
  };
  const old = errors(false);
  const retrained = errors(true);
  assert.ok(mean(old) > 0.4, `old bias ${mean(old)}`);
  assert.ok(Math.abs(mean(retrained)) < 0.05, `retrained bias ${mean(retrained)}`);
  assert.ok(mean(old.map(Math.abs)) > 1.2 * mean(retrained.map(Math.abs)));
});

test('forecasts carry their bias: the formula plus it on average', () => {
  const rand = mulberry32(4);
  const x: Features = { ndvi: 0.5, temp_c: 22, rain_mm: 60, soil_n: 50 };
  const at = Date.UTC(2026, 5, 1);
  const biased = Array.from({ length: 4000 }, () => forecast(x, at, { noiseSd: 0.3, bias: 2.5, knowsHeat: false }, rand));
  assert.ok(Math.abs(mean(biased) - (formulaYield(x, at) + 2.5)) < 0.03);
});

test.run();
