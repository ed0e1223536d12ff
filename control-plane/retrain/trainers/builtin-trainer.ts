import { Worker } from 'node:worker_threads';
import { TrainingFailedError } from '../../../actors/errors';
import type { Trainer, TrainingInput, TrainingResult } from '../../ports/trainer';

// The worker is a .ts file: a worker thread does not inherit tsx's loader
// (nor honour `--import tsx` in execArgv on Node 20), so it registers it first.
const WORKER_URL = new URL('./ridge-worker.ts', import.meta.url).href;
const WORKER_BOOT = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); });`;

/**
 * The built-in trainer: ridge regression (trainers/ridge.ts) in a worker
 * thread. Deterministic: the same snapshot and seed give the same artifact
 * bytes. CPU only, so GPU-hours are 0; spend is CPU time at `usdPerCpuHour`.
 */
export class BuiltinTrainer implements Trainer {
  readonly name = 'builtin-ridge';

  constructor(private readonly options: { usdPerCpuHour?: number } = {}) {}

  train(input: TrainingInput, signal?: AbortSignal): Promise<TrainingResult> {
    const t0 = performance.now();
    const worker = new Worker(WORKER_BOOT, { eval: true, workerData: input });
    return new Promise<TrainingResult>((resolve, reject) => {
      const onAbort = () => {
        void worker.terminate();
        reject(new TrainingFailedError(`training cancelled: ${String(signal?.reason ?? 'aborted')}`));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.once('message', (out: { artifact: Uint8Array; predictions: number[]; metrics: Record<string, unknown> }) => {
        signal?.removeEventListener('abort', onAbort);
        const seconds = (performance.now() - t0) / 1000;
        resolve({
          artifact: new Uint8Array(out.artifact),
          predictions: out.predictions,
          metrics: out.metrics,
          usage: { seconds, gpuHours: 0, costUsd: (seconds / 3600) * (this.options.usdPerCpuHour ?? 0.05) },
        });
        void worker.terminate();
      });
      worker.once('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(new TrainingFailedError(`the built-in trainer crashed: ${err.message}`, { cause: err }));
      });
    });
  }
}
