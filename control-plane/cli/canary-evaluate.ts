import { readFileSync } from 'node:fs';
import {
  INITIAL_SEQUENTIAL_STATE,
  canaryGuard,
  canaryGuardConfig,
  type CanaryEvaluation,
  type CanaryGuardConfig,
} from '../kernels/index';
import { forEachRecord, DriftInputError, readHeader, readNumber } from './drift-compare';

/**
 * `tollgate canary evaluate`: the CanaryGuard's single, final look at two CSV
 * files of absolute errors (control, canary), through `canaryGuard` — the
 * same code path as the live guard.
 */

/** A file that cannot be evaluated: unreadable, empty, a bad header or cell. Exit code 2. */
export class CanaryInputError extends Error {
  override readonly name = 'CanaryInputError';
  constructor(
    message: string,
    readonly file: string,
    /** 1-based line number in the file, where a row is at fault. */
    readonly line?: number,
    /** The column (header name) at fault. */
    readonly column?: string,
  ) {
    super(message);
  }
}

/** How a file gave its errors. */
export type ErrorFileFormat = 'absolute-errors' | 'prediction-actual';

/** One arm's absolute errors, read from a CSV file. */
export interface ErrorFile {
  file: string;
  format: ErrorFileFormat;
  /** The column(s) read. */
  columns: string[];
  errors: Float64Array;
}

export interface CanaryReport {
  control: { file: string; format: ErrorFileFormat; columns: string[] };
  canary: { file: string; format: ErrorFileFormat; columns: string[] };
  config: CanaryGuardConfig;
  decision: CanaryEvaluation['decision'];
  rule: CanaryEvaluation['rule'];
  reason: string;
  n: CanaryEvaluation['n'];
  mae: CanaryEvaluation['mae'];
  relativeDeltaMae: number;
  tests: CanaryEvaluation['tests'];
}

/** Reads both files and takes the guard's final look. Throws `CanaryInputError` for bad input. */
export function evaluateCsvFiles(controlPath: string, canaryPath: string, config: Partial<CanaryGuardConfig> = {}): CanaryReport {
  const control = readErrorFile(controlPath);
  const canary = readErrorFile(canaryPath);
  return evaluateErrorFiles(control, canary, config);
}

/** The guard's single final look on two arms already read. */
export function evaluateErrorFiles(control: ErrorFile, canary: ErrorFile, config: Partial<CanaryGuardConfig> = {}): CanaryReport {
  const full = canaryGuardConfig(config);
  // One look at all the data, at the end of the canary: an undecided result is INCONCLUSIVE.
  const r = canaryGuard(control.errors, canary.errors, full, INITIAL_SEQUENTIAL_STATE, { final: true });
  const arm = (f: ErrorFile) => ({ file: f.file, format: f.format, columns: f.columns });
  return {
    control: arm(control),
    canary: arm(canary),
    config: full,
    decision: r.decision,
    rule: r.rule,
    reason: r.reason,
    n: r.n,
    mae: r.mae,
    relativeDeltaMae: r.relativeDeltaMae,
    tests: r.tests,
  };
}

/** One line for stderr. */
export function summarizeCanary(r: CanaryReport): string {
  const delta = Number.isFinite(r.relativeDeltaMae) ? `${r.relativeDeltaMae >= 0 ? '+' : ''}${(100 * r.relativeDeltaMae).toFixed(2)}%` : String(r.relativeDeltaMae);
  return `canary ${r.decision}: MAE ${r.mae.canary.toPrecision(4)} vs control ${r.mae.control.toPrecision(4)} (${delta}), n ${r.n.canary} vs ${r.n.control}; ${r.reason}`;
}

// ---------------------------------------------------------------- CSV


/**
 * Reads a CSV file of one arm's errors. The first row is a header; then either
 * - one column: absolute errors (finite, ≥ 0), any column name; or
 * - `prediction` and `actual` columns (other columns ignored): the error is |prediction - actual|.
 * Same CSV dialect as `drift compare` (RFC 4180 quoting, any line ends, BOM, blank lines skipped).
 */
export function readErrorFile(path: string): ErrorFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new CanaryInputError(`cannot read ${path}: ${why}`, path);
  }
  return parseErrorCsv(text, path);
}

/** Parses the text of an error file (see `readErrorFile`). */
export function parseErrorCsv(text: string, file: string): ErrorFile {
  let header: string[] | undefined;
  let format: ErrorFileFormat = 'absolute-errors';
  let at: number[] = [];
  const errors: number[] = [];
  try {
    forEachRecord(text, file, (fields, line) => {
      if (!header) {
        header = readHeader(fields, file, line, CanaryInputError);
        const prediction = header.indexOf('prediction');
        const actual = header.indexOf('actual');
        if (prediction !== -1 && actual !== -1) {
          format = 'prediction-actual';
          at = [prediction, actual];
        } else if (header.length === 1 && prediction === -1 && actual === -1) {
          at = [0];
        } else {
          throw new CanaryInputError(
            `${file}: line ${line}: expected one column of absolute errors or "prediction" and "actual" columns; the header has ${header.map((h) => JSON.stringify(h)).join(', ')}`,
            file,
            line,
          );
        }
        return;
      }
      if (fields.length !== header.length) {
        throw new CanaryInputError(`${file}: line ${line}: ${fields.length} ${fields.length === 1 ? 'field' : 'fields'}, but the header has ${header.length}`, file, line);
      }
      if (format === 'absolute-errors') {
        const value = readNumber(fields[0]!, file, line, header[0]!, 0, CanaryInputError);
        if (value < 0) {
          throw new CanaryInputError(
            `${file}: line ${line}, column ${JSON.stringify(header[0])} (column 1): ${value} is negative; a one-column file holds absolute errors`,
            file,
            line,
            header[0],
          );
        }
        errors.push(value);
      } else {
        const [p, a] = at as [number, number];
        const prediction = readNumber(fields[p]!, file, line, header[p]!, p, CanaryInputError);
        const actual = readNumber(fields[a]!, file, line, header[a]!, a, CanaryInputError);
        const error = Math.abs(prediction - actual);
        if (!Number.isFinite(error)) throw new CanaryInputError(`${file}: line ${line}: |prediction - actual| overflows`, file, line);
        errors.push(error);
      }
    });
  } catch (err) {
    // The shared record reader reports quoting errors as DriftInputError; same facts, this command's error class.
    if (err instanceof DriftInputError) throw new CanaryInputError(err.message, err.file, err.line, err.column);
    throw err;
  }
  if (!header) throw new CanaryInputError(`${file}: empty file (expected a header row: one column of absolute errors, or prediction,actual)`, file);
  if (errors.length === 0) throw new CanaryInputError(`${file}: no data rows, only the header`, file);
  return { file, format, columns: at.map((i) => header![i]!), errors: Float64Array.from(errors) };
}
