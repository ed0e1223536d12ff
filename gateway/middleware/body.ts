import type { Context } from 'hono';
import type { z } from 'zod';
import { BadRequestError } from '../../actors/errors';

/**
 * Reads the request's JSON body and validates it with a strict zod schema.
 * Malformed JSON, wrong types and unknown fields are 400s whose message names
 * the field.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw new BadRequestError('the body must be JSON (Content-Type: application/json)');
  }
  const text = await c.req.text();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`malformed JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => {
      const where = i.path.length ? i.path.join('.') : 'body';
      return i.code === 'unrecognized_keys' ? `${where}: unknown field(s) ${i.keys.join(', ')}` : `${where}: ${i.message}`;
    });
    throw new BadRequestError(`invalid request: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** Parses an optional positive integer query parameter within bounds. */
export function intParam(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new BadRequestError(`${name} must be a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new BadRequestError(`${name} must be between ${min} and ${max}`);
  return n;
}
