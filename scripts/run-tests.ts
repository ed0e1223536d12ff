/**
 * `npm test`: runs every `*.test.ts` (uvu) file in its own `node --import tsx`
 * process, TEST_CONCURRENCY (default 2) at a time, each limited to
 * TEST_FILE_TIMEOUT_MS (default 10 min). CLI args are substrings/paths that
 * select files. Output is buffered per file; counts come from uvu's
 * end-of-process summary. The last line is `N passed, N failed[, N skipped]`;
 * exit code 1 on any failure or when no test ran.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConsole } from './build-console';

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  note: string;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', '.tollgate']);
const NEEDS_CONSOLE = /^console\/e2e\/|^test\/integration\/server\.test\.ts$/;
const concurrency = Math.max(1, Math.floor(Number(process.env.TEST_CONCURRENCY)) || 2);
const timeoutMs = Math.max(1, Number(process.env.TEST_FILE_TIMEOUT_MS) || 10 * 60_000);

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) found.push(...findTests(path));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(relative(root, path).split(sep).join('/'));
  }
  return found.sort();
}

function selected(file: string, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((arg) => file.includes(arg) || file.includes(relative(root, resolve(arg)).split(sep).join('/')));
}

/** Sums every uvu summary block (uvu prints one per `exec`, normally one per process). */
function parseSummary(stdout: string): { total: number; passed: number; skipped: number } | null {
  const text = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const sum = (label: string): number[] =>
    [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, 'gm'))].map((m) => Number(m[1]));
  const totals = sum('Total');
  const passes = sum('Passed');
  const skips = sum('Skipped');
  if (totals.length === 0 || totals.length !== passes.length) return null;
  const add = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  return { total: add(totals), passed: add(passes), skipped: add(skips) };
}

function runFile(file: string): Promise<{ result: FileResult; output: string }> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const merged: Buffer[] = [];
    const stdout: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => (merged.push(chunk), stdout.push(chunk)));
    child.stderr.on('data', (chunk: Buffer) => merged.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    let spawnError = '';
    child.on('error', (err) => (spawnError = err.message));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const exit = signal ? `signal ${signal}` : `exit code ${code}`;
      const summary = parseSummary(Buffer.concat(stdout).toString('utf8'));
      const result: FileResult = { file, passed: 0, failed: 0, skipped: 0, note: '' };
      if (summary) {
        result.passed = summary.passed;
        result.skipped = summary.skipped;
        // uvu's Total excludes skipped tests, so failures are Total - Passed.
        result.failed = Math.max(0, summary.total - summary.passed);
      }
      if (timedOut) result.note = `TIMED OUT after ${timeoutMs} ms, killed`;
      else if (spawnError) result.note = `could not start: ${spawnError}`;
      else if (!summary) result.note = `crashed with no uvu summary (${exit})`;
      else if (code !== 0 && result.failed === 0) result.note = `${exit} although uvu reported no failure`;
      if (result.note && result.failed === 0) result.failed = 1;
      const counts = `${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`;
      const line = `${result.failed ? 'FAIL' : 'ok  '} ${file}: ${counts} (${secs}s)${result.note ? ` - ${result.note}` : ''}`;
      const text = Buffer.concat(merged).toString('utf8').trimEnd();
      done({ result, output: `\n===== ${file} =====\n${text ? `${text}\n` : ''}${line}\n` });
    });
  });
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const files = findTests(root).filter((f) => selected(f, filters));
  if (files.length === 0) console.log(`No *.test.ts files found${filters.length ? ` matching ${filters.join(' ')}` : ''}.`);
  // Browser suites and `npm start` serve console/dist: build it once here, so
  // two suites starting together never build it at the same time.
  if (files.some((f) => NEEDS_CONSOLE.test(f)) && (await buildConsole('stale'))) console.log('console built (console/dist)');
  const queue = [...files];
  const results: FileResult[] = [];
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const { result, output } = await runFile(file);
      process.stdout.write(output);
      results.push(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

  let passed = 0, failed = 0, skipped = 0;
  for (const r of results) (passed += r.passed), (failed += r.failed), (skipped += r.skipped);
  const failing = results.filter((r) => r.failed > 0).sort((a, b) => a.file.localeCompare(b.file));
  if (failing.length > 0) {
    console.log(`\nFailing files (${failing.length}):`);
    for (const r of failing) console.log(`  - ${r.file}: ${r.failed} failed${r.note ? ` (${r.note})` : ''}`);
  }
  console.log(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  return failed > 0 || passed + failed === 0 ? 1 : 0;
}

process.exitCode = await main();
