import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingFailedError } from '../../../actors/errors';
import type { Trainer, TrainingInput, TrainingResult } from '../../ports/trainer';

export interface CommandTrainerOptions {
  /** The program to run (no shell). */
  command: string;
  /**
   * Its arguments; `{train}`, `{test}`, `{seed}` and `{out}` are replaced by
   * the exported snapshot files, the seed and the output folder.
   */
  args: readonly string[];
  /** Lines of stdout+stderr kept for the failure message. */
  logTailLines?: number;
  timeoutMs?: number;
}

/**
 * Runs a user's training command: the snapshot is exported as JSON Lines
 * (`train.jsonl`, `test.jsonl`), the command writes `artifact.bin` and
 * `metrics.json` (`{ predictions: number[], gpuHours?, costUsd?, ... }`) into
 * the output folder. Exit code ≠ 0, a timeout or missing output →
 * TrainingFailedError with the tail of its log.
 */
export class CommandTrainer implements Trainer {
  readonly name: string;

  constructor(private readonly options: CommandTrainerOptions) {
    if (!options.command) throw new Error('CommandTrainer needs a command');
    this.name = `command:${options.command}`;
  }

  async train(input: TrainingInput, signal?: AbortSignal): Promise<TrainingResult> {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-train-'));
    try {
      const train = join(dir, 'train.jsonl');
      const test = join(dir, 'test.jsonl');
      writeFileSync(train, input.train.map((r) => JSON.stringify(r)).join('\n'));
      writeFileSync(test, input.test.map((r) => JSON.stringify({ ...r, actual: null })).join('\n'));
      const vars: Record<string, string> = { '{train}': train, '{test}': test, '{seed}': String(input.seed), '{out}': dir };
      const args = this.options.args.map((a) => a.replace(/\{train\}|\{test\}|\{seed\}|\{out\}/g, (m) => vars[m]!));
      const t0 = performance.now();
      const { code, log } = await this.#run(args, signal);
      const seconds = (performance.now() - t0) / 1000;
      const tail = log.split('\n').filter(Boolean).slice(-(this.options.logTailLines ?? 20)).join('\n');
      if (code !== 0) throw new TrainingFailedError(`training command exited with ${code}; last lines of its log:\n${tail}`, { details: { exitCode: code, logTail: tail } });
      const artifactPath = join(dir, 'artifact.bin');
      const metricsPath = join(dir, 'metrics.json');
      if (!existsSync(artifactPath) || !existsSync(metricsPath)) {
        throw new TrainingFailedError(`training command wrote no ${existsSync(artifactPath) ? 'metrics.json' : 'artifact.bin'}; last lines of its log:\n${tail}`, { details: { logTail: tail } });
      }
      let metrics: Record<string, unknown>;
      try {
        metrics = JSON.parse(readFileSync(metricsPath, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new TrainingFailedError(`metrics.json is not JSON: ${(err as Error).message}`);
      }
      const predictions = metrics.predictions;
      if (!Array.isArray(predictions) || predictions.length !== input.test.length || !predictions.every((p) => typeof p === 'number' && Number.isFinite(p))) {
        throw new TrainingFailedError(`metrics.json must hold "predictions": ${input.test.length} finite numbers, one per test row`);
      }
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
      return {
        artifact: new Uint8Array(readFileSync(artifactPath)),
        predictions: predictions as number[],
        metrics: Object.fromEntries(Object.entries(metrics).filter(([k]) => k !== 'predictions')),
        usage: { seconds, gpuHours: num(metrics.gpuHours), costUsd: num(metrics.costUsd) },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  #run(args: string[], signal?: AbortSignal): Promise<{ code: number; log: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}), ...(this.options.timeoutMs ? { timeout: this.options.timeoutMs } : {}) });
      let log = '';
      const keep = (chunk: Buffer) => {
        log = (log + chunk.toString('utf8')).slice(-64 * 1024); // bounded: only the tail is reported
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', (err) => {
        if ((err as NodeJS.ErrnoException).name === 'AbortError') reject(new TrainingFailedError(`training cancelled: ${String(signal?.reason ?? 'aborted')}`));
        else reject(new TrainingFailedError(`could not run ${this.options.command}: ${err.message}`, { cause: err }));
      });
      child.once('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : 1), log: sig ? `${log}\nkilled by ${sig}` : log }));
    });
  }
}
