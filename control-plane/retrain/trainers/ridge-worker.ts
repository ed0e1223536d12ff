import { parentPort, workerData } from 'node:worker_threads';
import type { TrainingInput } from '../../ports/trainer';
import { trainRidge } from './ridge';

// Runs in a worker thread: the training loop never blocks the actor host's event loop.
const { artifact, predictions, model } = trainRidge(workerData as TrainingInput);
parentPort!.postMessage({ artifact, predictions, metrics: { lambda: model.lambda, rows: model.rows } });
