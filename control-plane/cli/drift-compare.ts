import { readFileSync } from 'node:fs';
import {
  DEFAULT_BINS,
  DEFAULT_EPSILON,
  DEFAULT_PSI_THRESHOLDS,
  baselineBins,
  featureDrift,
  psiLevel,
  type DriftLevel,
  type PsiThresholds,
} from '../kernels/index';

/**
 * `tollgate drift compare`: per-feature PSI and KL of a current CSV against a
 * baseline CSV, computed by the same kernels as the drift engine.
 */

/** A file that cannot be compared: unreadable, empty, a missing column, a bad cell. Exit code 2. */
export class DriftInputError extends Error {
  override readonly name = 'DriftInputError';
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

/** Numeric columns of a CSV file, by header name. */
export interface NumericTable {
  file: string;
  /** Header names, in file order. */
  header: string[];
  /** Values of the columns that were read, by name. */
  columns: Map<string, Float64Array>;
  rows: number;
}

export interface FeatureReport {
  name: string;
  /** Interior bin edges from the baseline's quantiles (ties collapsed, so possibly fewer than bins - 1). */
  edges: number[];
  /** PSI(baseline shares, current shares), empty bins smoothed with epsilon. */
  psi: number;
  /** KL(baseline‖current) over the same smoothed shares. */
  kl: number;
  level: DriftLevel;
  baselineCounts: number[];
  currentCounts: number[];
}

export interface DriftComparison {
  baseline: { file: string; rows: number };
  current: { file: string; rows: number; ignoredColumns: string[] };
  bins: number;
  epsilon: number;
  thresholds: PsiThresholds;
  features: FeatureReport[];
  /** The worst feature (highest PSI; the first in header order on a tie) decides the level. */
  verdict: { level: DriftLevel; worstFeature: string; psi: number };
}

export interface CompareOptions {
  bins?: number;
  epsilon?: number;
  thresholds?: PsiThresholds;
}

/** Reads both files and compares every baseline column. Throws `DriftInputError` for bad input. */
export function compareCsvFiles(baselinePath: string, currentPath: string, options: CompareOptions = {}): DriftComparison {
  const baseline = parseNumericCsv(readText(baselinePath), baselinePath);
  const current = parseNumericCsv(readText(currentPath), currentPath, baseline.header);
  return compareTables(baseline, current, options);
}

/** Compares each baseline column with the current column of the same name. */
export function compareTables(baseline: NumericTable, current: NumericTable, options: CompareOptions = {}): DriftComparison {
  const bins = options.bins ?? DEFAULT_BINS;
  const epsilon = options.epsilon ?? DEFAULT_EPSILON;
  const thresholds = options.thresholds ?? { ...DEFAULT_PSI_THRESHOLDS };
  const features = baseline.header.map((name): FeatureReport => {
    const base = column(baseline, name);
    const drift = featureDrift(baselineBins(base, bins), column(current, name), epsilon);
    return {
      name,
      edges: Array.from(drift.edges),
      psi: drift.psi,
      kl: drift.kl,
      level: psiLevel(drift.psi, thresholds),
      baselineCounts: Array.from(drift.baselineCounts),
      currentCounts: Array.from(drift.currentCounts),
    };
  });
  const worst = features.reduce((a, b) => (b.psi > a.psi ? b : a));
  return {
    baseline: { file: baseline.file, rows: baseline.rows },
    current: { file: current.file, rows: current.rows, ignoredColumns: current.header.filter((h) => !baseline.header.includes(h)) },
    bins,
    epsilon,
    thresholds,
    features,
    verdict: { level: worst.level, worstFeature: worst.name, psi: worst.psi },
  };
}

function column(table: NumericTable, name: string): Float64Array {
  const values = table.columns.get(name);
  if (!values) throw new DriftInputError(`${table.file}: missing column ${JSON.stringify(name)}`, table.file, undefined, name);
  return values;
}

/** JSON.stringify with 2-space indents, but arrays of numbers or strings on one line. */
export function formatJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const inner = indent + '  ';
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** One line for stderr. */
export function summarizeComparison(c: DriftComparison): string {
  const { level, worstFeature, psi } = c.verdict;
  const n = c.features.length;
  const bound = level === 'ok' ? `≤ warn ${c.thresholds.warn}` : `> ${level} ${c.thresholds[level]}`;
  return (
    `drift ${level.toUpperCase()}: worst feature ${JSON.stringify(worstFeature)} PSI ${psi.toFixed(4)} (${bound}); ` +
    `${n} ${n === 1 ? 'feature' : 'features'}, ${c.baseline.rows} baseline rows, ${c.current.rows} current rows`
  );
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new DriftInputError(`cannot read ${path}: ${why}`, path);
  }
}

// ---------------------------------------------------------------- CSV

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a CSV whose first row names the columns and whose cells are decimal
 * numbers. `wanted` (default: every header column) are the columns to read;
 * each must be in the header. Other columns are not checked.
 *
 * Accepted: RFC 4180 quoting (quoted headers and cells, "" for a quote,
 * separators and line breaks inside quotes), LF, CRLF or CR line ends, a
 * UTF-8 byte-order mark, a missing or extra trailing newline, blank lines
 * (skipped), spaces around a cell. Refused with the line and column: a row
 * with another number of fields than the header, an empty cell, anything
 * that is not a finite decimal number (NaN, Infinity, 0x1F, 1,5).
 */
export function parseNumericCsv(text: string, file: string, wanted?: readonly string[]): NumericTable {
  let header: string[] | undefined;
  let indexes: number[] = [];
  let names: readonly string[] = [];
  let sinks: number[][] = [];
  let rows = 0;

  forEachRecord(text, file, (fields, line) => {
    if (!header) {
      header = readHeader(fields, file, line);
      names = wanted ?? header;
      indexes = names.map((name) => {
        const at = header!.indexOf(name);
        if (at === -1) {
          throw new DriftInputError(
            `${file}: missing column ${JSON.stringify(name)} (a baseline feature); its header (line ${line}) has ${header!.map((h) => JSON.stringify(h)).join(', ')}`,
            file,
            line,
            name,
          );
        }
        return at;
      });
      sinks = names.map(() => []);
      return;
    }
    if (fields.length !== header.length) {
      throw new DriftInputError(`${file}: line ${line}: ${fields.length} ${fields.length === 1 ? 'field' : 'fields'}, but the header has ${header.length}`, file, line);
    }
    indexes.forEach((at, i) => sinks[i]!.push(readNumber(fields[at]!, file, line, names[i]!, at)));
    rows++;
  });

  if (!header) throw new DriftInputError(`${file}: empty file (expected a header row of feature names)`, file);
  if (rows === 0) throw new DriftInputError(`${file}: no data rows, only the header`, file);
  return { file, header, columns: new Map(names.map((name, i) => [name, Float64Array.from(sinks[i]!)])), rows };
}

/** The error a CSV reader throws: DriftInputError here, CanaryInputError for `canary evaluate`. */
export type CsvInputError = new (message: string, file: string, line?: number, column?: string) => Error;

/** A header row's trimmed names; an empty or repeated name is an error naming the line and column. */
export function readHeader(fields: string[], file: string, line: number, Err: CsvInputError = DriftInputError): string[] {
  const names = fields.map((f) => f.trim());
  names.forEach((name, i) => {
    if (name === '') throw new Err(`${file}: line ${line}: column ${i + 1} of the header has no name`, file, line);
    const first = names.indexOf(name);
    if (first !== i) throw new Err(`${file}: line ${line}: column ${JSON.stringify(name)} appears twice in the header (columns ${first + 1} and ${i + 1})`, file, line, name);
  });
  return names;
}

/** One cell as a finite decimal number; anything else is an error naming the file, line and column. */
export function readNumber(cell: string, file: string, line: number, name: string, at: number, Err: CsvInputError = DriftInputError): number {
  const text = cell.trim();
  const where = `${file}: line ${line}, column ${JSON.stringify(name)} (column ${at + 1})`;
  if (text === '') throw new Err(`${where}: empty cell (missing values are not supported)`, file, line, name);
  const value = NUMBER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) {
    throw new Err(`${where}: ${JSON.stringify(cell)} is not a finite decimal number`, file, line, name);
  }
  return value;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Calls `onRecord(fields, line)` for each non-blank record; `line` is the
 * 1-based line on which the record starts.
 */
export function forEachRecord(text: string, file: string, onRecord: (fields: string[], line: number) => void): void {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let i = start;
  let line = 1;
  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    let blank = true;
    // One record: fields separated by commas, up to a line end or the end of the text.
    for (;;) {
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        blank = false;
        const quoteLine = line;
        let parts = '';
        let from = i + 1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q === -1) throw new DriftInputError(`${file}: line ${quoteLine}: a quoted field is never closed`, file, quoteLine);
          line += countLineBreaks(text, from, q);
          parts += text.slice(from, q);
          if (text.charCodeAt(q + 1) === QUOTE) {
            parts += '"';
            from = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        const c = text.charCodeAt(i);
        if (i < n && c !== COMMA && c !== LF && c !== CR) {
          throw new DriftInputError(`${file}: line ${line}: unexpected ${JSON.stringify(text[i])} after a closing quote`, file, line);
        }
        value = parts;
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          j++;
        }
        value = text.slice(i, j);
        if (value !== '') blank = false;
        i = j;
      }
      fields.push(value);
      if (i < n && text.charCodeAt(i) === COMMA) {
        blank = false;
        i++;
        continue;
      }
      break;
    }
    // At a line end (or the end of the text).
    if (i < n) {
      if (text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF) i += 2;
      else i++;
      line++;
    }
    if (!blank) onRecord(fields, recordLine);
  }
}

function countLineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === LF || (c === CR && text.charCodeAt(k + 1) !== LF)) count++;
  }
  return count;
}
