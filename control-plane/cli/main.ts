import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { KnownHead, VerifyReport } from '../audit/verify';
import { KeyParseError, parsePublicKeys, verifyExport, type PublicKeys } from './audit-verify';
import { CanaryInputError, evaluateCsvFiles, summarizeCanary } from './canary-evaluate';
import { DriftInputError, compareCsvFiles, formatJson, summarizeComparison } from './drift-compare';
import { COMMITTEE_COMMANDS } from './committee';
import { USER_COMMANDS } from './user';
import { DEMO_COMMANDS } from './demo';
import { parseSavedResponse, verifyOracleResponse } from './oracle-verify';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mintPartnerToken } from '../oracle/mint-token';

/**
 * The `tollgate` command line. Commands are rows of `COMMANDS`; options are
 * parsed by a small hand-written parser from each command's option table.
 *
 * Exit codes: 0 ok, 1 verification failed, 2 usage or input error.
 */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface OptionSpec {
  name: string;
  /** Placeholder shown in help; options without one are flags. */
  value?: string;
  repeatable?: boolean;
  help: string;
}

export interface ParsedArgs {
  positionals: string[];
  /** Every value given, in order; flags map to ['']. */
  options: Map<string, string[]>;
}

export interface Command {
  path: readonly string[];
  synopsis: string;
  summary: string;
  details?: string;
  options: readonly OptionSpec[];
  run(args: ParsedArgs, io: Io): number | Promise<number>;
}

/** Thrown for bad invocations; `main` prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- commands

const auditVerify: Command = {
  path: ['audit', 'verify'],
  synopsis: 'audit verify <export.jsonl> --public-key <file-or-key> [--head <hash> --length <n>]',
  summary: 'verify an exported audit log offline (hash chain, payload digests, Ed25519 signatures)',
  details: [
    '<export.jsonl> is the body of GET /api/v1/audit/export ("-" reads stdin).',
    '--public-key is a file if one exists at that path, else the key itself: the',
    'JSON of GET /api/v1/keys, one Ed25519 JWK, or a raw base64url public key.',
    'With --length (and --head) a shorter log, or one whose entry at that length',
    'has another hash, is reported as truncated or rewritten.',
    'Prints the report as JSON on stdout and a one-line summary on stderr.',
  ].join('\n'),
  options: [
    { name: 'public-key', value: '<file-or-key>', repeatable: true, help: 'public keys to trust (repeatable)' },
    { name: 'length', value: '<n>', help: 'the log had at least n entries when last seen' },
    { name: 'head', value: '<hash>', help: 'hash of entry n when last seen (needs --length)' },
  ],
  run(args, io) {
    const [exportPath, ...extra] = args.positionals;
    if (exportPath === undefined) throw new UsageError('missing <export.jsonl>', auditVerify);
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`, auditVerify);
    const keyArgs = args.options.get('public-key') ?? [];
    if (keyArgs.length === 0) throw new UsageError('missing --public-key', auditVerify);

    const keys: PublicKeys = new Map();
    for (const arg of keyArgs) for (const [kid, key] of loadKeys(arg)) keys.set(kid, key);
    const knownHead = readKnownHead(args);
    const text = readInput(exportPath);

    const report = verifyExport(text, keys, knownHead);
    io.stdout(JSON.stringify(report, null, 2) + '\n');
    io.stderr(summarize(report) + '\n');
    return report.ok ? EXIT_OK : EXIT_FAILED;
  },
};

function loadKeys(arg: string): PublicKeys {
  const exists = existsSync(arg);
  if (exists && statSync(arg).isDirectory()) throw new UsageError(`--public-key ${arg} is a directory`, auditVerify);
  const isFile = exists; // a file, or a pipe such as /dev/stdin
  const text = isFile ? readInput(arg) : arg;
  try {
    return parsePublicKeys(text);
  } catch (err) {
    if (!(err instanceof KeyParseError)) throw err;
    const what = isFile ? `--public-key file ${arg}` : looksLikePath(arg) ? `--public-key ${arg} (no such file, and not a key)` : '--public-key';
    throw new UsageError(`${what}: ${err.message}`, auditVerify);
  }
}

function looksLikePath(arg: string): boolean {
  return /[/\\]|\.(json|jwk|pub|txt|key)$/i.test(arg);
}

function readKnownHead(args: ParsedArgs): KnownHead | undefined {
  const length = last(args.options.get('length'));
  const head = last(args.options.get('head'));
  if (length === undefined) {
    if (head !== undefined) throw new UsageError('--head needs --length (the number of entries at that head)', auditVerify);
    return undefined;
  }
  if (!/^\d+$/.test(length) || !Number.isSafeInteger(Number(length))) {
    throw new UsageError(`--length must be a non-negative integer, got ${JSON.stringify(length)}`, auditVerify);
  }
  if (head === undefined) return { length: Number(length) };
  if (!/^[0-9a-fA-F]{64}$/.test(head)) throw new UsageError('--head must be a hex SHA-256 (64 hex digits)', auditVerify);
  if (Number(length) === 0) throw new UsageError('--head needs --length of at least 1', auditVerify);
  return { length: Number(length), hash: head.toLowerCase() };
}

function readInput(path: string): string {
  try {
    return path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path === '-' ? 'stdin' : path}: ${(err as Error).message}`);
  }
}

export function summarize(report: VerifyReport): string {
  if (report.ok) {
    const n = report.length;
    return `audit log OK: ${n} ${n === 1 ? 'entry' : 'entries'}, head ${report.head.slice(0, 16)}…`;
  }
  return `audit log BROKEN at index ${report.firstBadIndex}: ${report.reason}`;
}

function last<T>(values: readonly T[] | undefined): T | undefined {
  return values?.[values.length - 1];
}

const MAX_BINS = 1000;

const driftCompare: Command = {
  path: ['drift', 'compare'],
  synopsis: 'drift compare <baseline.csv> <current.csv> [--bins N]',
  summary: 'per-feature PSI and KL of a current sample against a baseline, as the drift engine computes them',
  details: [
    'Both files are CSV with a header row of feature names and numeric cells;',
    'every baseline column must be in the current file (other columns are ignored).',
    'Per feature, the bin edges are the baseline\'s quantiles (deciles by default;',
    'ties collapse edges), empty bins get a share of 1e-4 before renormalising, and',
    'it reports PSI, KL(baseline‖current), both bins\' counts and a level. The',
    'verdict is the worst feature against the default thresholds: "warn" above',
    'PSI 0.1, "critical" above 0.25, else "ok".',
    'Prints the comparison as JSON on stdout and a one-line summary on stderr; the',
    'exit code is 0 whatever the verdict, 2 for a bad file (with its line and column).',
  ].join('\n'),
  options: [{ name: 'bins', value: '<N>', help: `number of quantile bins per feature, 2..${MAX_BINS} (default 10)` }],
  run(args, io) {
    const [baselinePath, currentPath, ...extra] = args.positionals;
    if (baselinePath === undefined) throw new UsageError('missing <baseline.csv>', driftCompare);
    if (currentPath === undefined) throw new UsageError('missing <current.csv>', driftCompare);
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`, driftCompare);
    const binsArg = last(args.options.get('bins'));
    let bins: number | undefined; // the kernels' default, deciles
    if (binsArg !== undefined) {
      bins = /^\d+$/.test(binsArg) ? Number(binsArg) : Number.NaN;
      if (!(bins >= 2 && bins <= MAX_BINS)) throw new UsageError(`--bins must be an integer in 2..${MAX_BINS}, got ${JSON.stringify(binsArg)}`, driftCompare);
    }
    try {
      const comparison = compareCsvFiles(baselinePath, currentPath, { bins });
      io.stdout(formatJson(comparison) + '\n');
      io.stderr(summarizeComparison(comparison) + '\n');
      return EXIT_OK;
    } catch (err) {
      if (!(err instanceof DriftInputError)) throw err;
      io.stderr(`tollgate: ${err.message}\n`);
      return EXIT_USAGE;
    }
  },
};

const canaryEvaluate: Command = {
  path: ['canary', 'evaluate'],
  synopsis: 'canary evaluate <control.csv> <canary.csv> [--alpha 0.05] [--min-samples 1000] [--mode superiority|non-inferiority]',
  summary: "the CanaryGuard's decision on two files of errors: Welch, Mann–Whitney and the sequential test, as the live guard computes them",
  details: [
    'Each file is CSV with a header row: one column of absolute errors, or',
    '"prediction" and "actual" columns (the error is |prediction - actual|).',
    'Takes the guard\'s single, final look: ROLLBACK when the canary\'s MAE is more',
    'than 5% above the control\'s; PROMOTE when the always-valid p-value is below',
    'alpha with at least --min-samples per arm (unless Mann–Whitney finds the',
    'canary\'s errors stochastically larger); otherwise INCONCLUSIVE.',
    'Prints n, MAE, relative ΔMAE, every test\'s statistics and p-values and the',
    'decision as JSON on stdout and a one-line summary on stderr; the exit code is',
    '0 whatever the decision, 2 for a bad file (with its line and column).',
  ].join('\n'),
  options: [
    { name: 'alpha', value: '<p>', help: 'significance level, in (0, 1) (default 0.05)' },
    { name: 'min-samples', value: '<n>', help: 'minimum labelled samples per arm to promote, ≥ 2 (default 1000)' },
    { name: 'mode', value: '<mode>', help: 'superiority (default) or non-inferiority (2% margin)' },
  ],
  run(args, io) {
    const [controlPath, canaryPath, ...extra] = args.positionals;
    if (controlPath === undefined) throw new UsageError('missing <control.csv>', canaryEvaluate);
    if (canaryPath === undefined) throw new UsageError('missing <canary.csv>', canaryEvaluate);
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`, canaryEvaluate);
    const config: { alpha?: number; minSamplesPerArm?: number; mode?: 'superiority' | 'non-inferiority' } = {};
    const alpha = last(args.options.get('alpha'));
    if (alpha !== undefined) {
      config.alpha = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(alpha) ? Number(alpha) : Number.NaN;
      if (!(config.alpha > 0 && config.alpha < 1)) throw new UsageError(`--alpha must be a number in (0, 1), got ${JSON.stringify(alpha)}`, canaryEvaluate);
    }
    const minSamples = last(args.options.get('min-samples'));
    if (minSamples !== undefined) {
      config.minSamplesPerArm = /^\d+$/.test(minSamples) ? Number(minSamples) : Number.NaN;
      if (!(config.minSamplesPerArm >= 2 && Number.isSafeInteger(config.minSamplesPerArm))) {
        throw new UsageError(`--min-samples must be an integer ≥ 2, got ${JSON.stringify(minSamples)}`, canaryEvaluate);
      }
    }
    const mode = last(args.options.get('mode'));
    if (mode !== undefined) {
      if (mode !== 'superiority' && mode !== 'non-inferiority') throw new UsageError(`--mode must be superiority or non-inferiority, got ${JSON.stringify(mode)}`, canaryEvaluate);
      config.mode = mode;
    }
    try {
      const report = evaluateCsvFiles(controlPath, canaryPath, config);
      io.stdout(formatJson(report) + '\n');
      io.stderr(summarizeCanary(report) + '\n');
      return EXIT_OK;
    } catch (err) {
      if (!(err instanceof CanaryInputError)) throw err;
      io.stderr(`tollgate: ${err.message}\n`);
      return EXIT_USAGE;
    }
  },
};

const oracleVerify: Command = {
  path: ['oracle', 'verify'],
  synopsis: 'oracle verify <response> --public-key <file-or-key> [--signature "kid=…, sig=…"]',
  summary: 'check a saved oracle snapshot offline: signature, audit entry, inclusion proof and root',
  details: [
    '<response> is an oracle answer saved with its headers (curl -i … > response.http),',
    'or the bare body with --signature giving the Tollgate-Signature header value.',
    '--public-key takes the JSON of GET /api/v1/keys (a file, or the text itself).',
    'Prints a JSON report (what is wrong, per snapshot) on stdout and a summary on stderr.',
  ].join('\n'),
  options: [
    { name: 'public-key', value: '<file-or-key>', repeatable: true, help: 'the oracle nodes\' public keys (repeatable)' },
    { name: 'signature', value: '<header>', help: 'the Tollgate-Signature header value, when <response> is a bare body' },
  ],
  run(args, io) {
    const [path, ...extra] = args.positionals;
    if (path === undefined) throw new UsageError('missing <response>', oracleVerify);
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`, oracleVerify);
    const keyArgs = args.options.get('public-key') ?? [];
    if (keyArgs.length === 0) throw new UsageError('missing --public-key', oracleVerify);
    const keys: PublicKeys = new Map();
    for (const arg of keyArgs) for (const [kid, key] of loadKeys(arg)) keys.set(kid, key);
    let bytes: Uint8Array;
    try {
      bytes = path === '-' ? readFileSync(0) : readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${(err as Error).message}`, oracleVerify);
    }
    let saved;
    try {
      saved = parseSavedResponse(bytes, last(args.options.get('signature')));
    } catch (err) {
      throw new UsageError(`${path}: ${(err as Error).message}`, oracleVerify);
    }
    const report = verifyOracleResponse(saved, keys);
    io.stdout(JSON.stringify(report, null, 2) + '\n');
    const bad = report.snapshots.filter((s) => !s.ok);
    io.stderr(
      report.ok
        ? `oracle response OK: signed by ${report.signature.kid}, ${report.snapshots.length} snapshot(s) proven against their checkpoint\n`
        : `oracle response NOT OK: ${[report.signature.ok ? null : `signature: ${report.signature.reason}`, ...bad.map((s) => `${s.tenantId ?? '?'}: ${s.problems.join('; ')}`)].filter(Boolean).join(' | ')}\n`,
    );
    return report.ok ? EXIT_OK : EXIT_FAILED;
  },
};

const token: Command = {
  path: ['token'],
  synopsis: 'token --key <private.pem> --partner <id> [--audience <aud>] [--ttl <seconds>] [--public-jwk]',
  summary: 'mint a partner JWT for the oracle from a local Ed25519 or P-256 private key',
  details: [
    'Make a key with: openssl genpkey -algorithm ed25519 -out partner.pem',
    '(or -algorithm EC -pkeyopt ec_paramgen_curve:P-256). --public-jwk prints the',
    'public JWK to register with POST /api/v1/partners instead of a token.',
    'The token: header { alg, typ: "oracle+jwt", kid: <id> }, claims { iss: <id>,',
    'aud, iat, exp, jti } — one use only (the oracle refuses a replayed jti).',
  ].join('\n'),
  options: [
    { name: 'key', value: '<private.pem>', help: 'the partner private key (PEM, PKCS#8)' },
    { name: 'partner', value: '<id>', help: 'the partner id (kid and iss)' },
    { name: 'audience', value: '<aud>', help: 'aud claim (default tollgate-oracle, TOLLGATE_ORACLE_AUDIENCE of the server)' },
    { name: 'ttl', value: '<seconds>', help: 'lifetime in seconds, 1..3600 (default 60)' },
    { name: 'public-jwk', help: 'print the public JWK to register, not a token' },
  ],
  run(args, io) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument: ${args.positionals[0]}`, token);
    const keyPath = last(args.options.get('key'));
    if (keyPath === undefined) throw new UsageError('missing --key', token);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(readFileSync(keyPath));
    } catch (err) {
      throw new UsageError(`--key ${keyPath}: ${(err as Error).message}`, token);
    }
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    if (privateKey.asymmetricKeyType !== 'ed25519' && !(privateKey.asymmetricKeyType === 'ec' && curve === 'prime256v1')) {
      throw new UsageError('--key must be an Ed25519 or P-256 private key', token);
    }
    if (args.options.has('public-jwk')) {
      const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
      io.stdout(JSON.stringify(jwk) + '\n');
      return EXIT_OK;
    }
    const partnerId = last(args.options.get('partner'));
    if (partnerId === undefined) throw new UsageError('missing --partner', token);
    const ttlArg = last(args.options.get('ttl'));
    const ttl = ttlArg === undefined ? 60 : Number(ttlArg);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3_600) throw new UsageError('--ttl must be a whole number of seconds in 1..3600', token);
    io.stdout(mintPartnerToken({ partnerId, audience: last(args.options.get('audience')) ?? 'tollgate-oracle', privateKey, ttlSeconds: ttl }) + '\n');
    return EXIT_OK;
  },
};

/** Implemented commands. Add a row to add a command. */
export const COMMANDS: readonly Command[] = [auditVerify, driftCompare, canaryEvaluate, oracleVerify, token, ...COMMITTEE_COMMANDS, ...USER_COMMANDS, ...DEMO_COMMANDS];

/** Listed in the usage; exit 2 with "not available yet" until implemented. */
export const COMING: readonly (readonly string[])[] = [];

// ---------------------------------------------------------------- dispatch

export function usage(): string {
  const rows = COMMANDS.map((c) => `  tollgate ${c.synopsis}\n      ${c.summary}`);
  return [
    'Usage: tollgate <command> [options]',
    '',
    'Commands:',
    ...rows,
    '',
    ...(COMING.length ? ['Coming (not available yet in this version):', ...COMING.map((p) => `  tollgate ${p.join(' ')}`), ''] : []),
    "Run 'tollgate help <command>' or 'tollgate <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 verification failed, 2 usage error.',
  ].join('\n');
}

export function commandUsage(command: Command): string {
  const width = Math.max(...command.options.map((o) => optionLabel(o).length), 0);
  return [
    `Usage: tollgate ${command.synopsis}`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'Options:',
    ...command.options.map((o) => `  ${optionLabel(o).padEnd(width)}  ${o.help}`),
    `  ${'--help'.padEnd(width)}  show this help`,
  ].join('\n');
}

function optionLabel(o: OptionSpec): string {
  return o.value ? `--${o.name} ${o.value}` : `--${o.name}`;
}

function findCommand(words: readonly string[]): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.path.every((w, i) => words[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best && { command: best, rest: words.slice(best.path.length) };
}

function findComing(words: readonly string[]): readonly string[] | undefined {
  // A coming command, or the first word of one that no implemented command shares.
  return (
    COMING.find((p) => p.every((w, i) => words[i] === w)) ??
    COMING.find((p) => p[0] === words[0] && !COMMANDS.some((c) => c.path[0] === words[0]))
  );
}

/** Hand-written option parser: --name value, --name=value, flags, and `--`. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command?: Command): ParsedArgs & { help: boolean } {
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option: ${arg}`, command);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`unknown option: --${name}`, command);
    let value: string;
    if (spec.value) {
      if (eq !== -1) value = arg.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new UsageError(`--${name} needs a value ${spec.value}`, command);
        value = next;
        i++;
      }
    } else {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`, command);
      value = '';
    }
    const values = options.get(name) ?? [];
    if (values.length > 0 && !spec.repeatable) throw new UsageError(`--${name} given more than once`, command);
    values.push(value);
    options.set(name, values);
  }
  return { positionals, options, help };
}

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`tollgate: ${err.message}\n\n${err.command ? commandUsage(err.command) : usage()}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`tollgate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_USAGE;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given');
  if (first === '-h' || first === '--help' || first === 'help') {
    const target = rest.length > 0 ? findCommand(rest) : undefined;
    if (rest.length > 0 && !target) {
      const coming = findComing(rest);
      if (coming) return notYet(coming, io);
      throw new UsageError(`unknown command: ${rest.join(' ')}`);
    }
    io.stdout((target ? commandUsage(target.command) : usage()) + '\n');
    return EXIT_OK;
  }

  const found = findCommand(argv);
  if (!found) {
    const coming = findComing(argv);
    if (coming) return notYet(coming, io);
    const group = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === first).map((c) => c.path.slice(1).join(' '));
    if (group.length > 0) {
      const sub = rest[0];
      throw new UsageError(sub === undefined ? `${first} needs a subcommand: ${group.join(', ')}` : `unknown command: ${first} ${sub}`);
    }
    throw new UsageError(`unknown command: ${first}`);
  }

  const { command, rest: commandArgs } = found;
  const args = parseArgs(commandArgs, command.options, command);
  if (args.help) {
    io.stdout(commandUsage(command) + '\n');
    return EXIT_OK;
  }
  return await command.run(args, io);
}

function notYet(path: readonly string[], io: Io): number {
  io.stderr(`tollgate: ${path.join(' ')} is not available yet in this version\nRun 'tollgate --help' for the commands available now.\n`);
  return EXIT_USAGE;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

// `tsx control-plane/cli/main.ts …` runs it too; bin/tollgate.mjs calls main().
if (invokedDirectly()) process.exitCode = await main(process.argv.slice(2));
