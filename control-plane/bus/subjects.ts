import { BadRequestError } from '../../actors/errors';

const TOKEN = /^[^\s.*>]+$/;

/** Throws unless `subject` is a valid publish subject (no wildcards). */
export function assertPublishSubject(subject: string): void {
  if (!subject || !subject.split('.').every((t) => TOKEN.test(t))) {
    throw new BadRequestError(`invalid subject "${subject}": tokens must be non-empty, without spaces or wildcards`);
  }
}

/** Throws unless `pattern` is a valid subscription subject (`*` a token, `>` the tail). */
export function assertPattern(pattern: string): void {
  const tokens = pattern.split('.');
  const ok = tokens.every((t, i) => TOKEN.test(t) || t === '*' || (t === '>' && i === tokens.length - 1));
  if (!pattern || !ok) throw new BadRequestError(`invalid subscription subject "${pattern}"`);
}

/** NATS subject matching: `*` matches one token, a final `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  return tokensMatch(pattern.split('.'), subject.split('.'));
}

/** `subjectMatches` on subjects already split into tokens. */
export function tokensMatch(p: readonly string[], s: readonly string[]): boolean {
  for (let i = 0; i < p.length; i++) {
    const token = p[i]!;
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}
