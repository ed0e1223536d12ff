import { z } from 'zod';
import { ROLES } from '../db/schema/enums';
import { BadRequestError } from './errors';

/** The principal a command is sent on behalf of (authenticated by the gateway). */
export const PrincipalSchema = z.strictObject({
  kind: z.enum(['user', 'system']),
  name: z.string().min(1).max(200),
  role: z.enum(ROLES),
  tokenId: z.string().max(100).optional(),
});

/** Versioned envelope field every command may carry. */
export const V = { v: z.literal(1).optional() };

/** Validates a command with a zod schema; the error names the type or field. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const type = (raw as { type?: unknown } | null)?.type;
  const typeIssue = r.error.issues.find((i) => i.path.length === 1 && i.path[0] === 'type');
  if (typeIssue) throw new BadRequestError(`unknown message type ${JSON.stringify(type)}`);
  const issue = r.error.issues[0]!;
  const where = issue.path.join('.') || 'message';
  throw new BadRequestError(
    issue.code === 'unrecognized_keys' ? `${where}: unknown field(s) ${issue.keys.join(', ')}` : `${where}: ${issue.message}`,
  );
}
