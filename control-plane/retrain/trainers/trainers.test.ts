import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TrainingFailedError } from '../../../actors/errors';
import { rejectsA } from '../../../test/support/assert';
import type { TrainingInput } from '../../ports/trainer';
import type { SnapshotRow } from '../snapshot';
import { BuiltinTrainer } from './builtin-trainer';
import { CommandTrainer } from './command-trainer';
import { predictWith, type RidgeModel } from './ridge';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** y = 2a - 3b + 1 plus a little deterministic noise. */
function rows(n: number, offset = 0): SnapshotRow[] {
  return Array.from({ length: n }, (_, i) => {
    const a = Math.sin(i + offset) * 5;
    const b = Math.cos((i + offset) * 0.7) * 3;
    return {
      id: i + offset,
      idempotencyKey: `k${i + offset}`,
      occurredAt: new Date(Date.UTC(2026, 0, 1) + (i + offset) * 3_600_000).toISOString(),
      segment: i % 2 ? 'north' : 'south',
      features: { a, b },
      prediction: null,
      actual: 2 * a - 3 * b + 1 + Math.sin(i * 13.7) * 0.05,
    };
  });
}
const input = (seed: number, over: Partial<TrainingInput> = {}): TrainingInput => ({
  tenantId: 'acme',
  snapshotId: '00000000-0000-4000-8000-000000000001',
  featureNames: ['a', 'b'],
  train: rows(200),
  test: rows(40, 200),
  seed,
  ...over,
});

const test = suite('trainers');

test('built-in trainer (worker thread): same snapshot and seed → byte-identical artifact and sha256; it learns', async () => {
  const trainer = new BuiltinTrainer();
  const [one, two] = [await trainer.train(input(7)), await trainer.train(input(7))];
  assert.is(sha(one.artifact), sha(two.artifact));
  assert.equal(Buffer.from(one.artifact), Buffer.from(two.artifact));
  const model = JSON.parse(Buffer.from(one.artifact).toString()) as RidgeModel;
  assert.is(model.format, 'tollgate-ridge/v1');
  const test = input(7).test;
  const mae = one.predictions.reduce((s, p, i) => s + Math.abs(p - test[i]!.actual!), 0) / test.length;
  assert.ok(mae < 0.2, `backtest MAE ${mae} on a near-linear target`);
  assert.equal(predictWith(model, test), one.predictions, 'the artifact alone reproduces the predictions');
  assert.is(one.usage.gpuHours, 0);
  assert.ok(one.usage.seconds > 0);
  const otherData = await trainer.train(input(7, { train: rows(199) }));
  assert.is.not(sha(otherData.artifact), sha(one.artifact), 'another snapshot, another artifact');
  const otherSeed = await trainer.train(input(8));
  assert.is.not(sha(otherSeed.artifact), sha(one.artifact), 'the seed is part of the artifact');
});

test('built-in trainer: a cancelled job fails with TrainingFailedError', async () => {
  const ctl = new AbortController();
  ctl.abort('timeout');
  await rejectsA(new BuiltinTrainer().train(input(1), ctl.signal), TrainingFailedError, /cancelled: timeout/);
});

const dir = mkdtempSync(join(tmpdir(), 'tg-cmd-trainer-'));
const script = (name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
};
const okScript = script(
  'ok.mjs',
  `import { readFileSync, writeFileSync } from 'node:fs';
const [train, testFile, seed, out] = process.argv.slice(2);
const test = readFileSync(testFile, 'utf8').split('\\n').filter(Boolean).map((l) => JSON.parse(l));
const n = readFileSync(train, 'utf8').split('\\n').filter(Boolean).length;
if (test.some((r) => r.actual !== null)) throw new Error('labels leaked into the test file');
writeFileSync(out + '/artifact.bin', 'model seed=' + seed + ' rows=' + n);
writeFileSync(out + '/metrics.json', JSON.stringify({ predictions: test.map(() => 1.5), gpuHours: 2.5, costUsd: 12 }));
console.log('trained');`,
);

test('command trainer: exports the snapshot, passes the seed, reads artifact and metrics, reports GPU-hours and cost', async () => {
  const t = new CommandTrainer({ command: process.execPath, args: [okScript, '{train}', '{test}', '{seed}', '{out}'] });
  const out = await t.train(input(42));
  assert.is(Buffer.from(out.artifact).toString(), 'model seed=42 rows=200');
  assert.is(out.predictions.length, 40);
  assert.equal(out.usage.gpuHours, 2.5);
  assert.equal(out.usage.costUsd, 12);
  assert.equal(out.metrics, { gpuHours: 2.5, costUsd: 12 });
});

test('command trainer: exit code ≠ 0 → TrainingFailedError with the tail of its log', async () => {
  const failing = script('fail.mjs', `for (let i = 0; i < 50; i++) console.log('line ' + i); console.error('CUDA out of memory'); process.exit(3);`);
  const t = new CommandTrainer({ command: process.execPath, args: [failing], logTailLines: 5 });
  const err = await rejectsA(t.train(input(1)), TrainingFailedError, /exited with 3/);
  assert.match(err.message, /CUDA out of memory/);
  assert.match(err.message, /line 49/);
  assert.not.match(err.message, /line 10\b/, 'only the tail');
  assert.is(err.details?.exitCode, 3);
});

test('command trainer: missing output, bad metrics, wrong prediction count, missing program, timeout', async () => {
  const silent = script('silent.mjs', `console.log('did nothing')`);
  await rejectsA(new CommandTrainer({ command: process.execPath, args: [silent] }).train(input(1)), TrainingFailedError, /wrote no artifact\.bin[\s\S]*did nothing/);
  const badJson = script('bad.mjs', `import { writeFileSync } from 'node:fs'; const out = process.argv[2]; writeFileSync(out + '/artifact.bin', 'x'); writeFileSync(out + '/metrics.json', '{nope');`);
  await rejectsA(new CommandTrainer({ command: process.execPath, args: [badJson, '{out}'] }).train(input(1)), TrainingFailedError, /not JSON/);
  const short = script('short.mjs', `import { writeFileSync } from 'node:fs'; const out = process.argv[2]; writeFileSync(out + '/artifact.bin', 'x'); writeFileSync(out + '/metrics.json', JSON.stringify({ predictions: [1] }));`);
  await rejectsA(new CommandTrainer({ command: process.execPath, args: [short, '{out}'] }).train(input(1)), TrainingFailedError, /40 finite numbers/);
  await rejectsA(new CommandTrainer({ command: join(dir, 'no-such-program'), args: [] }).train(input(1)), TrainingFailedError, /could not run/);
  const slow = script('slow.mjs', `setTimeout(() => {}, 10_000);`);
  await rejectsA(new CommandTrainer({ command: process.execPath, args: [slow], timeoutMs: 200 }).train(input(1)), TrainingFailedError, /killed by SIGTERM/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
