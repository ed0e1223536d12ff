import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { baselineBins, featureDrift } from '../kernels/index';
import { DriftInputError, parseNumericCsv, type DriftComparison } from './drift-compare';
import { main } from './main';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'tollgate.mjs');
const dir = mkdtempSync(join(tmpdir(), 'tollgate-drift-compare-'));

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

const reportOf = (r: Run) => JSON.parse(r.stdout) as DriftComparison;

/** Rows of numbers → CSV text with a header. */
const csv = (header: string, rows: ReadonlyArray<readonly number[]>, eol = '\n') => [header, ...rows.map((r) => r.join(','))].join(eol) + eol;

// A deterministic pseudo-random sample (LCG) so the fixtures are the same on every run.
function sample(n: number, seed: number, map: (u: number) => number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return map(s / 2 ** 32);
  });
}

// ---------------------------------------------------------------- fixtures

// The hand-computed table of divergence.test.ts, as files: quartiles of x, PSI 0.45729009254193054.
const smallBaseline = file('small-baseline.csv', csv('x', [[3], [1], [4], [1], [5], [9], [2], [6]]));
const smallCurrent = file('small-current.csv', csv('x', [[0], [2], [2], [3], [4], [7], [8], [10], [11], [12]]));

// Three features of 500 rows: "stable" draws from the same distribution, "shifted" moves by a
// third of its range, "skewed" (lognormal-like) is unchanged.
const N = 500;
const cols = {
  stable: [sample(N, 1, (u) => u * 10), sample(N, 2, (u) => u * 10)],
  shifted: [sample(N, 3, (u) => u * 30), sample(N, 4, (u) => 10 + u * 30)],
  skewed: [sample(N, 5, (u) => Math.exp(4 * u)), sample(N, 6, (u) => Math.exp(4 * u))],
};
const rows = (i: 0 | 1) => Array.from({ length: N }, (_, r) => [cols.stable[i]![r]!, cols.shifted[i]![r]!, cols.skewed[i]![r]!]);
const wideBaseline = file('wide-baseline.csv', csv('stable,shifted,skewed', rows(0)));
// The current file has its columns in another order and one column more.
const wideCurrent = file(
  'wide-current.csv',
  csv(
    'skewed,id,stable,shifted',
    rows(1).map((r, i) => [r[2]!, i, r[0]!, r[1]!]),
  ),
);

// ---------------------------------------------------------------- results

test('drift compare: the hand-computed quartile table, exactly as the kernels compute it', async () => {
  const r = await tollgate('drift', 'compare', smallBaseline, smallCurrent, '--bins', '4');
  assert.is(r.code, 0, r.stderr);
  const report = reportOf(r);
  assert.equal(report.baseline, { file: smallBaseline, rows: 8 });
  assert.equal(report.current, { file: smallCurrent, rows: 10, ignoredColumns: [] });
  assert.is(report.bins, 4);
  assert.is(report.epsilon, 1e-4);
  assert.equal(report.thresholds, { warn: 0.1, critical: 0.25 });
  const [x] = report.features;
  assert.is(x!.name, 'x');
  assert.equal(x!.edges, [1.75, 3.5, 5.25]);
  assert.equal(x!.baselineCounts, [2, 2, 2, 2]);
  assert.equal(x!.currentCounts, [1, 3, 1, 5]);
  assert.ok(Math.abs(x!.psi - 0.45729009254193054) <= 1e-9);
  assert.ok(Math.abs(x!.kl - 0.2392781815986026) <= 1e-9);
  assert.is(x!.level, 'critical');
  assert.equal(report.verdict, { level: 'critical', worstFeature: 'x', psi: x!.psi });
  assert.match(r.stderr, /^drift CRITICAL: worst feature "x" PSI 0\.4573 \(> critical 0\.25\); 1 feature, 8 baseline rows, 10 current rows\n$/);
});

test('drift compare: every feature matches the kernels bit for bit; columns found by name; worst named', async () => {
  const r = await tollgate('drift', 'compare', wideBaseline, wideCurrent);
  assert.is(r.code, 0, r.stderr);
  const report = reportOf(r);
  assert.is(report.bins, 10);
  assert.equal(report.current.ignoredColumns, ['id']);
  assert.equal(
    report.features.map((f) => f.name),
    ['stable', 'shifted', 'skewed'],
  );
  for (const f of report.features) {
    const [base, cur] = cols[f.name as keyof typeof cols];
    const expected = featureDrift(baselineBins(Float64Array.from(base!)), Float64Array.from(cur!));
    assert.equal(f.edges, Array.from(expected.edges), f.name);
    assert.equal(f.baselineCounts, Array.from(expected.baselineCounts), f.name);
    assert.equal(f.currentCounts, Array.from(expected.currentCounts), f.name);
    assert.is(f.psi, expected.psi, f.name);
    assert.is(f.kl, expected.kl, f.name);
    assert.is(f.edges.length, 9, f.name);
  }
  const byName = Object.fromEntries(report.features.map((f) => [f.name, f]));
  assert.is(byName.stable!.level, 'ok');
  assert.is(byName.skewed!.level, 'ok');
  assert.is(byName.shifted!.level, 'critical');
  assert.equal(report.verdict, { level: 'critical', worstFeature: 'shifted', psi: byName.shifted!.psi });
});

test('drift compare: the same files give "ok" against themselves', async () => {
  const r = await tollgate('drift', 'compare', wideBaseline, wideBaseline);
  assert.is(r.code, 0, r.stderr);
  const report = reportOf(r);
  assert.ok(report.features.every((f) => f.psi === 0 && f.kl === 0 && f.level === 'ok'));
  assert.is(report.verdict.level, 'ok');
  assert.match(r.stderr, /^drift OK: worst feature "stable" PSI 0\.0000 \(≤ warn 0\.1\); 3 features/);
});

test('drift compare: CSV details — quoted headers, CRLF, BOM, no trailing newline, blank lines, quoted cells, spaces', async () => {
  const base = file('quirky-baseline.csv', '\uFEFF"feature, with comma","say ""hi"""\r\n1,10\r\n\r\n2, 20 \r\n"3",30\r\n4,40');
  const cur = file('quirky-current.csv', '"say ""hi""","feature, with comma"\r\n40,1\r\n+4.0e1,2.5\r\n.5,-0\r\n\r\n');
  const r = await tollgate('drift', 'compare', base, cur, '--bins=2');
  assert.is(r.code, 0, r.stderr);
  const report = reportOf(r);
  assert.equal(
    report.features.map((f) => [f.name, f.edges, f.baselineCounts, f.currentCounts]),
    [
      // [1,2,3,4]: median h = 1.5 → 2.5; current [1, 2.5, -0]: below 2.5: 1, -0 → 2; 2.5 → 1
      ['feature, with comma', [2.5], [2, 2], [2, 1]],
      // [10,20,30,40]: median 25; current [40, 40, 0.5]: below: 0.5 → 1; at or above: 2
      ['say "hi"', [25], [2, 2], [1, 2]],
    ],
  );
  assert.is(report.baseline.rows, 4);
  assert.is(report.current.rows, 3);
});

test('parseNumericCsv: a quoted field may hold a line break; later lines are still numbered right', () => {
  const text = '"a\nb",c\n1,2\n3,x\n';
  assert.throws(
    () => parseNumericCsv(text, 'f.csv'),
    (e: unknown) => e instanceof DriftInputError && e.line === 4 && e.column === 'c' && /line 4, column "c" \(column 2\)/.test(e.message),
  );
  const ok = parseNumericCsv('"a\r\nb",c\r\n1,2\r\n', 'f.csv');
  assert.equal(ok.header, ['a\r\nb', 'c']);
  assert.equal(Array.from(ok.columns.get('c')!), [2]);
  // A quote inside an unquoted field is an ordinary character.
  assert.equal(parseNumericCsv('say "hi",x\n1,2\n', 'f.csv').header, ['say "hi"', 'x']);
  // A lone CR ends a line too.
  assert.equal(Array.from(parseNumericCsv('x\r1\r2', 'f.csv').columns.get('x')!), [1, 2]);
});

// ---------------------------------------------------------------- bad input → exit 2

const BAD: Array<[string, string, RegExp]> = [
  ['missing file', '', /^tollgate: cannot read .*no-such\.csv: no such file\n$/],
  ['empty file', '', /^tollgate: .*empty\.csv: empty file \(expected a header row of feature names\)\n$/],
  ['only blank lines', '\n\r\n\n', /blank\.csv: empty file/],
  ['header only', 'x\n', /header-only\.csv: no data rows, only the header/],
  ['non-numeric cell', 'x,y\n1,2\n3,abc\n', /non-numeric\.csv: line 3, column "y" \(column 2\): "abc" is not a finite decimal number/],
  ['NaN cell', 'x\n1\nNaN\n', /nan\.csv: line 3, column "x" \(column 1\): "NaN" is not a finite decimal number/],
  ['Infinity cell', 'x\n1\n-Infinity\n', /infinity\.csv: line 3, column "x".*"-Infinity" is not a finite/],
  ['overflowing cell', 'x\n1e999\n', /overflow\.csv: line 2, column "x".*"1e999" is not a finite/],
  ['hex cell', 'x\n0x1F\n', /hex\.csv: line 2, column "x".*"0x1F"/],
  ['decimal comma', 'x\n"1,5"\n', /comma\.csv: line 2, column "x".*"1,5"/],
  ['empty cell', 'x,y\n1,\n', /empty-cell\.csv: line 2, column "y" \(column 2\): empty cell/],
  ['short row', 'x,y\n1,2\n3\n', /short-row\.csv: line 3: 1 field, but the header has 2/],
  ['long row', 'x,y\n1,2,3\n', /long-row\.csv: line 2: 3 fields, but the header has 2/],
  ['unclosed quote', 'x,y\n1,2\n"3,4\n5,6\n', /unclosed\.csv: line 3: a quoted field is never closed/],
  ['text after a quote', 'x\n"1"2\n', /after-quote\.csv: line 2: unexpected "2" after a closing quote/],
  ['unnamed column', 'x,,y\n1,2,3\n', /unnamed\.csv: line 1: column 2 of the header has no name/],
  ['duplicate column', 'x,y,x\n1,2,3\n', /duplicate\.csv: line 1: column "x" appears twice in the header \(columns 1 and 3\)/],
];
const FILE_NAMES = ['no-such', 'empty', 'blank', 'header-only', 'non-numeric', 'nan', 'infinity', 'overflow', 'hex', 'comma', 'empty-cell', 'short-row', 'long-row', 'unclosed', 'after-quote', 'unnamed', 'duplicate'];

test('drift compare: a bad baseline file → exit 2, naming the file, line and column', async () => {
  const good = file('good.csv', 'x,y\n1,2\n');
  for (const [i, [what, content, why]] of BAD.entries()) {
    const path = i === 0 ? join(dir, 'no-such.csv') : file(`${FILE_NAMES[i]}.csv`, content);
    const r = await tollgate('drift', 'compare', path, good);
    assert.is(r.code, 2, what);
    assert.match(r.stderr, why, `${what}: ${r.stderr}`);
    assert.is(r.stdout, '', what);
    assert.not.match(r.stderr, /Usage:|at .*\.ts:\d+/, `${what}: no usage dump or stack for a data error`);
  }
});

test('drift compare: a bad current file → exit 2, naming the current file', async () => {
  const base = file('base-xy.csv', 'x,y\n1,2\n3,4\n');
  const missing = await tollgate('drift', 'compare', base, file('cur-missing.csv', 'y,z\n1,2\n'));
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /cur-missing\.csv: missing column "x" \(a baseline feature\); its header \(line 1\) has "y", "z"/);
  const cell = await tollgate('drift', 'compare', base, file('cur-cell.csv', 'x,y\n1,2\n\n3,?\n'));
  assert.is(cell.code, 2);
  // Line 4: the blank line 3 is skipped but still counted.
  assert.match(cell.stderr, /cur-cell\.csv: line 4, column "y" \(column 2\): "\?" is not a finite decimal number/);
  // Columns the baseline does not have are not checked.
  const extra = await tollgate('drift', 'compare', base, file('cur-extra.csv', 'note,x,y\nhello,1,2\n'));
  assert.is(extra.code, 0, extra.stderr);
  const empty = await tollgate('drift', 'compare', base, file('cur-empty.csv', ''));
  assert.is(empty.code, 2);
  assert.match(empty.stderr, /cur-empty\.csv: empty file/);
  mkdirSync(join(dir, 'a-directory'), { recursive: true });
  const directory = await tollgate('drift', 'compare', base, join(dir, 'a-directory'));
  assert.is(directory.code, 2);
  assert.match(directory.stderr, /cannot read .*a-directory: is a directory/);
});

test('drift compare: usage errors → exit 2 with the command usage', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['drift', 'compare'], /missing <baseline\.csv>/],
    [['drift', 'compare', smallBaseline], /missing <current\.csv>/],
    [['drift', 'compare', smallBaseline, smallCurrent, 'third'], /unexpected argument: third/],
    [['drift', 'compare', smallBaseline, smallCurrent, '--bins'], /--bins needs a value <N>/],
    [['drift', 'compare', smallBaseline, smallCurrent, '--bins', '1'], /--bins must be an integer in 2\.\.1000, got "1"/],
    [['drift', 'compare', smallBaseline, smallCurrent, '--bins', '1001'], /--bins must be an integer in 2\.\.1000/],
    [['drift', 'compare', smallBaseline, smallCurrent, '--bins', '2.5'], /--bins must be an integer/],
    [['drift', 'compare', smallBaseline, smallCurrent, '--bins', '4', '--bins', '5'], /--bins given more than once/],
    [['drift', 'compare', smallBaseline, smallCurrent, '--epsilon', '0.1'], /unknown option: --epsilon/],
  ];
  for (const [args, why] of cases) {
    const r = await tollgate(...args);
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, why, args.join(' '));
    assert.match(r.stderr, /Usage: tollgate drift compare <baseline\.csv> <current\.csv> \[--bins N\]/, args.join(' '));
    assert.is(r.stdout, '');
  }
});

test('drift compare: listed as a command, no longer as coming; help exits 0', async () => {
  const top = await tollgate('--help');
  assert.is(top.code, 0);
  const [commands, coming] = top.stdout.split('Coming (not available yet in this version):');
  assert.match(commands!, /tollgate drift compare <baseline\.csv> <current\.csv> \[--bins N\]/);
  assert.not.match(coming!, /drift compare/);
  const help = await tollgate('help', 'drift', 'compare');
  assert.is(help.code, 0);
  assert.match(help.stdout, /--bins <N>/);
  assert.equal(await tollgate('drift', 'compare', '--help'), help);
});

test('drift compare through bin/tollgate.mjs: the process prints the JSON and exits 0', () => {
  const r = spawnSync(process.execPath, [BIN, 'drift', 'compare', smallBaseline, smallCurrent, '--bins', '4'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as DriftComparison;
  assert.equal(report.verdict.level, 'critical');
  assert.equal(report.features[0]!.currentCounts, [1, 3, 1, 5]);
  assert.match(r.stderr, /^drift CRITICAL/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
