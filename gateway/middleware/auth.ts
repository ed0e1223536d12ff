import type { MiddlewareHandler } from 'hono';
import { UnauthenticatedError } from '../../actors/errors';
import type { Principal } from '../../actors/principal';

declare module 'hono' {
  interface ContextVariableMap {
    principal: Principal;
  }
}

export interface OperatorAuthOptions {
  authenticate(token: string): Promise<Principal | null>;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/** Operator bearer-token authentication: no or unknown token → 401. */
export function operatorAuth(options: OperatorAuthOptions): MiddlewareHandler {
  if (typeof options.authenticate !== 'function') throw new TypeError('operatorAuth needs an authenticate function');
  return async function operatorAuth(c, next) {
    const header = c.req.header('authorization');
    if (!header) throw new UnauthenticatedError('missing Authorization: Bearer <token>');
    const match = BEARER.exec(header);
    if (!match) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
    const principal = await options.authenticate(match[1]!);
    if (!principal) throw new UnauthenticatedError('unknown or revoked token');
    c.set('principal', principal);
    await next();
  };
}
