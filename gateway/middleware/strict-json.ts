import { BadRequestError } from '../../actors/errors';

/** Keys that reach object prototypes in careless code downstream; refused wherever they appear. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_JSON_DEPTH = 32;

/** A body that JSON.parse would accept but that we refuse, naming where. */
export class StrictJsonError extends BadRequestError {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message, { details: { field } });
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * JSON.parse, but refuses duplicate keys, `__proto__` / `constructor` /
 * `prototype` keys and nesting deeper than MAX_JSON_DEPTH, naming the field.
 * A single scan checks the structure (keys compared after unescaping, so
 * `"\u005f_proto__"` is caught); V8's JSON.parse then builds the value.
 */
export function parseStrictJson(text: string): unknown {
  let i = 0;
  const fail = (message: string, field: string): never => {
    throw new StrictJsonError(message, field);
  };
  const malformed = (): never => fail(`malformed JSON at offset ${i}`, 'body');
  const skipWs = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const readString = (): string => {
    const start = i;
    if (text[i] !== '"') malformed();
    i++;
    for (;;) {
      if (i >= text.length) malformed();
      const ch = text.charCodeAt(i);
      if (ch === 0x22) break;
      if (ch === 0x5c) i += 2;
      else if (ch < 0x20) malformed();
      else i++;
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return malformed();
    }
  };
  const value = (path: string, depth: number): void => {
    if (depth > MAX_JSON_DEPTH) fail(`${path || 'body'}: nested deeper than ${MAX_JSON_DEPTH} levels`, path || 'body');
    skipWs();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const seen = new Set<string>();
      skipWs();
      if (text[i] === '}') return void i++;
      for (;;) {
        skipWs();
        const key = readString();
        const field = path ? `${path}.${key}` : key;
        if (FORBIDDEN_KEYS.has(key)) fail(`${field}: the key "${key}" is not allowed`, field);
        if (seen.has(key)) fail(`${field}: duplicate key "${key}"`, field);
        seen.add(key);
        skipWs();
        if (text[i] !== ':') malformed();
        i++;
        value(field, depth + 1);
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        malformed();
      }
    }
    if (ch === '[') {
      i++;
      skipWs();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`, depth + 1);
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        malformed();
      }
    }
    if (ch === '"') return void readString();
    // Numbers and literals: JSON.parse below checks their exact grammar.
    const start = i;
    while (i < text.length && /[-+0-9.eEtruefalsn]/.test(text[i]!)) i++;
    if (i === start) malformed();
  };
  value('', 0);
  skipWs();
  if (i !== text.length) malformed();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StrictJsonError(`malformed JSON: ${(err as Error).message}`, 'body');
  }
}
