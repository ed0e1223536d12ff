/**
 * Builds the console (console/ → console/dist) with Vite.
 * `--if-missing`: only when console/dist/index.html is absent (npm start).
 * `--if-stale`: also when a source is newer than the build (tests).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const consoleDir = join(root, 'console');
const built = join(consoleDir, 'dist', 'index.html');

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** Whether console/dist is missing or older than any source it is built from. */
export function consoleBuildNeeded(mode: 'missing' | 'stale' | 'always'): boolean {
  if (mode === 'always' || !existsSync(built)) return true;
  if (mode === 'missing') return false;
  const sources = [join(consoleDir, 'src'), join(consoleDir, 'index.html'), join(consoleDir, 'vite.config.ts'), join(root, 'control-plane', 'live', 'protocol.ts')];
  return Math.max(...sources.map(newest)) > statSync(built).mtimeMs;
}

/** Builds when needed; returns whether it built. */
export async function buildConsole(mode: 'missing' | 'stale' | 'always' = 'always'): Promise<boolean> {
  if (!consoleBuildNeeded(mode)) return false;
  const { build } = await import('vite');
  await build({ configFile: join(consoleDir, 'vite.config.ts'), logLevel: 'warn' });
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const mode = process.argv.includes('--if-missing') ? 'missing' : process.argv.includes('--if-stale') ? 'stale' : 'always';
  const did = await buildConsole(mode);
  console.log(did ? 'console built into console/dist' : 'console/dist is up to date');
}
