import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canaryGuard, fillExponential, mulberry32 } from '../kernels/index';
import { CanaryInputError, parseErrorCsv, type CanaryReport } from './canary-evaluate';
import { main } from './main';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'tollgate.mjs');
const dir = mkdtempSync(join(tmpdir(), 'tollgate-canary-evaluate-'));

type Run = { code: number | null; stdout: string; stderr: string };

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function tollgate(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const reportOf = (r: Run) => JSON.parse(r.stdout) as CanaryReport;

// ---------------------------------------------------------------- fixtures

// Exponential errors, seeded. Written with full precision (String(x) round-trips a double).
const draw = (n: number, mean: number, seed: number) => fillExponential(new Float64Array(n), mean, mulberry32(seed));
const oneColumn = (name: string, values: Float64Array) => `${name}\n${Array.from(values, String).join('\n')}\n`;

const control = draw(3000, 1, 101);
const better = draw(3000, 0.85, 102);
const same = draw(3000, 1, 103);
const worse = draw(3000, 1.2, 104);
const controlCsv = file('control.csv', oneColumn('abs_error', control));
const betterCsv = file('better.csv', oneColumn('error', better));
const sameCsv = file('same.csv', oneColumn('error', same));
const worseCsv = file('worse.csv', oneColumn('error', worse));
// The better canary again, as prediction,actual with an extra column and columns in another order:
// actual a, prediction a ± error (alternating signs), so |prediction - actual| is the error up to rounding.
const actuals = Float64Array.from(better, (_, i) => (i % 97) + 0.5);
const predictionRows = Array.from(better, (e, i) => {
  const a = actuals[i]!;
  return `${i},${a},${i % 2 === 0 ? a + e : a - e}`;
});
const betterPairsCsv = file('better-pairs.csv', `id,actual,prediction\n${predictionRows.join('\n')}\n`);

// ---------------------------------------------------------------- results

test('canary evaluate: a better canary is promoted; every figure is the guard\'s own, bit for bit', async () => {
  const r = await tollgate('canary', 'evaluate', controlCsv, betterCsv);
  assert.is(r.code, 0, r.stderr);
  const report = reportOf(r);
  const expected = canaryGuard(control, better, {}, undefined, { final: true });
  assert.is(report.decision, 'PROMOTE');
  assert.is(report.rule, 'sequential');
  assert.equal(report.n, { control: 3000, canary: 3000 });
  assert.equal(report.mae, expected.mae);
  assert.is(report.relativeDeltaMae, expected.relativeDeltaMae);
  assert.equal(report.tests, JSON.parse(JSON.stringify(expected.tests)));
  assert.equal(report.control, { file: controlCsv, format: 'absolute-errors', columns: ['abs_error'] });
  assert.equal(report.canary, { file: betterCsv, format: 'absolute-errors', columns: ['error'] });
  assert.is(report.config.alpha, 0.05);
  assert.is(report.config.minSamplesPerArm, 1000);
  assert.is(report.config.mode, 'superiority');
  for (const p of [report.tests.welch.pTwoSided, report.tests.welch.pLess, report.tests.mannWhitney!.pTwoSided, report.tests.mannWhitney!.pLess]) assert.ok(p >= 0 && p <= 1);
  assert.ok(report.tests.sequential!.pValue < 0.05);
  assert.match(r.stderr, /^canary PROMOTE: MAE 0\.\d{4} vs control \d\.\d{3,4} \(-\d+\.\d\d%\), n 3000 vs 3000; canary better than control/);
});

test('canary evaluate: prediction,actual columns give the same errors (to rounding) and the same decision', async () => {
  const r = await tollgate('canary', 'evaluate', controlCsv, betterPairsCsv);
  assert.is(r.code, 0, r.stderr);
  const report = reportOf(r);
  assert.equal(report.canary, { file: betterPairsCsv, format: 'prediction-actual', columns: ['prediction', 'actual'] });
  assert.is(report.decision, 'PROMOTE');
  const direct = canaryGuard(control, better, {}, undefined, { final: true });
  assert.ok(Math.abs(report.mae.canary - direct.mae.canary) < 1e-12);
});

test('canary evaluate: no difference → INCONCLUSIVE (final look); 20% worse → ROLLBACK', async () => {
  const held = await tollgate('canary', 'evaluate', controlCsv, sameCsv);
  assert.is(held.code, 0, held.stderr);
  const h = reportOf(held);
  // |ΔMAE| of two equal arms of 3000 is a few percent at most; if this seed's noise passes the breaker, the test says so.
  assert.ok(Math.abs(h.relativeDeltaMae) < 0.05, `relative ΔMAE ${h.relativeDeltaMae}`);
  assert.is(h.decision, 'INCONCLUSIVE');
  assert.match(h.reason, /hold and ask a human/);
  const rolled = reportOf(await tollgate('canary', 'evaluate', controlCsv, worseCsv));
  assert.is(rolled.decision, 'ROLLBACK');
  assert.is(rolled.rule, 'breaker');
  assert.is(rolled.tests.sequential, null);
});

test('canary evaluate: --alpha, --min-samples and --mode reach the guard', async () => {
  const strict = reportOf(await tollgate('canary', 'evaluate', controlCsv, betterCsv, '--alpha', '1e-30'));
  assert.is(strict.config.alpha, 1e-30);
  assert.is(strict.decision, 'INCONCLUSIVE');
  const many = reportOf(await tollgate('canary', 'evaluate', controlCsv, betterCsv, '--min-samples=3001'));
  assert.is(many.config.minSamplesPerArm, 3001);
  assert.is(many.decision, 'INCONCLUSIVE');
  assert.is(many.rule, 'min-samples');
  const ni = reportOf(await tollgate('canary', 'evaluate', controlCsv, sameCsv, '--mode', 'non-inferiority'));
  assert.is(ni.config.mode, 'non-inferiority');
  assert.is(ni.tests.mannWhitney!.controlScale, 1.02);
  assert.ok(Math.abs(ni.tests.sequential!.nullDifference - 0.02 * ni.mae.control) < 1e-15);
});

test('parseErrorCsv: CSV details — BOM, CRLF, quotes, blank lines, spaces, any single column name', () => {
  const f = parseErrorCsv('\uFEFF"abs, error"\r\n1\r\n\r\n 2.5 \r\n"0"\r\n.5', 'f.csv');
  assert.equal(Array.from(f.errors), [1, 2.5, 0, 0.5]);
  assert.equal(f.columns, ['abs, error']);
  const p = parseErrorCsv('prediction,actual\n3,5\n-1,-4\n', 'p.csv');
  assert.equal(Array.from(p.errors), [2, 3]);
});

// ---------------------------------------------------------------- bad input → exit 2

const BAD: Array<[name: string, content: string | null, why: RegExp]> = [
  ['no-such', null, /^tollgate: cannot read .*no-such\.csv: no such file\n$/],
  ['empty', '', /empty\.csv: empty file \(expected a header row: one column of absolute errors, or prediction,actual\)/],
  ['blank', '\n\r\n\n', /blank\.csv: empty file/],
  ['header-only', 'error\n', /header-only\.csv: no data rows, only the header/],
  ['non-numeric', 'error\n1\nabc\n', /non-numeric\.csv: line 3, column "error" \(column 1\): "abc" is not a finite decimal number/],
  ['nan', 'error\n1\nNaN\n', /nan\.csv: line 3, column "error" \(column 1\): "NaN" is not a finite decimal number/],
  ['infinity', 'error\nInfinity\n', /infinity\.csv: line 2, column "error".*"Infinity" is not a finite/],
  ['negative', 'error\n1\n\n-0.5\n', /negative\.csv: line 4, column "error" \(column 1\): -0\.5 is negative; a one-column file holds absolute errors/],
  ['empty-cell', 'prediction,actual\n1,\n', /empty-cell\.csv: line 2, column "actual" \(column 2\): empty cell/],
  ['bad-actual', 'id,prediction,actual\n1,2,3\n2,4,x\n', /bad-actual\.csv: line 3, column "actual" \(column 3\): "x" is not a finite decimal number/],
  ['short-row', 'prediction,actual\n1,2\n3\n', /short-row\.csv: line 3: 1 field, but the header has 2/],
  ['two-columns', 'a,b\n1,2\n', /two-columns\.csv: line 1: expected one column of absolute errors or "prediction" and "actual" columns; the header has "a", "b"/],
  ['prediction-only', 'prediction\n1\n', /prediction-only\.csv: line 1: expected one column of absolute errors or "prediction" and "actual" columns; the header has "prediction"/],
  ['unclosed', 'error\n1\n"2\n3\n', /unclosed\.csv: line 3: a quoted field is never closed/],
  ['duplicate', 'prediction,actual,prediction\n1,2,3\n', /duplicate\.csv: line 1: column "prediction" appears twice in the header \(columns 1 and 3\)/],
  ['unnamed', 'prediction,,actual\n1,2,3\n', /unnamed\.csv: line 1: column 2 of the header has no name/],
  ['overflow', 'prediction,actual\n1e308,-1e308\n', /overflow\.csv: line 2: \|prediction - actual\| overflows/],
];

test('canary evaluate: a bad control or canary file → exit 2, naming the file, line and column', async () => {
  const good = file('good.csv', 'error\n1\n2\n');
  for (const [name, content, why] of BAD) {
    const path = content === null ? join(dir, `${name}.csv`) : file(`${name}.csv`, content);
    for (const args of [
      [path, good],
      [good, path],
    ]) {
      const r = await tollgate('canary', 'evaluate', ...args);
      assert.is(r.code, 2, name);
      assert.match(r.stderr, why, `${name}: ${r.stderr}`);
      assert.is(r.stdout, '', name);
      assert.not.match(r.stderr, /Usage:|at .*\.ts:\d+/, `${name}: no usage dump or stack for a data error`);
    }
  }
  mkdirSync(join(dir, 'a-directory'), { recursive: true });
  const directory = await tollgate('canary', 'evaluate', good, join(dir, 'a-directory'));
  assert.is(directory.code, 2);
  assert.match(directory.stderr, /cannot read .*a-directory: is a directory/);
  assert.throws(() => parseErrorCsv('error\n-1\n', 'x.csv'), (e: unknown) => e instanceof CanaryInputError && e.line === 2 && e.column === 'error');
});

test('canary evaluate: usage errors → exit 2 with the command usage', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['canary', 'evaluate'], /missing <control\.csv>/],
    [['canary', 'evaluate', controlCsv], /missing <canary\.csv>/],
    [['canary', 'evaluate', controlCsv, betterCsv, 'third'], /unexpected argument: third/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--alpha'], /--alpha needs a value <p>/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--alpha', '0'], /--alpha must be a number in \(0, 1\), got "0"/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--alpha', '1'], /--alpha must be a number in \(0, 1\)/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--alpha', '0x1'], /--alpha must be a number in \(0, 1\)/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--alpha', 'NaN'], /--alpha must be a number/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--alpha', '0.1', '--alpha', '0.2'], /--alpha given more than once/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--min-samples', '1'], /--min-samples must be an integer ≥ 2, got "1"/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--min-samples', '10.5'], /--min-samples must be an integer ≥ 2/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--mode', 'equivalence'], /--mode must be superiority or non-inferiority, got "equivalence"/],
    [['canary', 'evaluate', controlCsv, betterCsv, '--bins', '4'], /unknown option: --bins/],
  ];
  for (const [args, why] of cases) {
    const r = await tollgate(...args);
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, why, args.join(' '));
    assert.match(r.stderr, /Usage: tollgate canary evaluate <control\.csv> <canary\.csv> \[--alpha 0\.05\] \[--min-samples 1000\]/, args.join(' '));
    assert.is(r.stdout, '');
  }
});

test('canary evaluate: listed as a command, no longer as coming; help exits 0', async () => {
  const top = await tollgate('--help');
  assert.is(top.code, 0);
  const [commands, coming] = top.stdout.split('Coming (not available yet in this version):');
  assert.match(commands!, /tollgate canary evaluate <control\.csv> <canary\.csv>/);
  assert.not.match(coming!, /canary evaluate/);
  const help = await tollgate('help', 'canary', 'evaluate');
  assert.is(help.code, 0);
  assert.match(help.stdout, /--min-samples <n>/);
  assert.equal(await tollgate('canary', 'evaluate', '--help'), help);
});

test('canary evaluate through bin/tollgate.mjs: the process prints the JSON and exits 0', () => {
  const r = spawnSync(process.execPath, [BIN, 'canary', 'evaluate', controlCsv, worseCsv], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  assert.is(r.status, 0, r.stderr);
  assert.is((JSON.parse(r.stdout) as CanaryReport).decision, 'ROLLBACK');
  assert.match(r.stderr, /^canary ROLLBACK/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
