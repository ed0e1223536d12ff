import type { MiddlewareHandler } from 'hono';
import { NotExposedError, PartnerTokenError, RateLimitedError, TollgateError } from '../../actors/errors';
import type { ExposureService } from '../../control-plane/oracle/exposure-service';
import type { PartnerTokenVerifier } from '../../control-plane/oracle/partner-token';
import type { Partner } from '../../control-plane/oracle/partners';
import type { RefusalRecorder } from '../../control-plane/oracle/refusals';
import type { Clock } from '../../control-plane/ports/clock';
import type { Admission } from '../../control-plane/ports/admission';
import { statusOf } from '../errors';

declare module 'hono' {
  interface ContextVariableMap {
    partner: Partner;
  }
}

export interface PartnerAuthOptions {
  verifier: PartnerTokenVerifier;
  admission: Admission;
  exposure: ExposureService;
  refusals: RefusalRecorder;
  clock: Clock;
}

const RATE_WINDOW_MS = 1_000;

/**
 * Partner authentication for /oracle/v1: the JWT (every check named), the
 * exposure stage, then in one Redis round trip the one-time jti claim (a
 * replay costs that and nothing else) and the partner's rate limit. A token
 * refused before the claim is not burnt. Every refusal is counted and (sampled)
 * audited; every request feeds the breakers.
 */
export function partnerAuth(o: PartnerAuthOptions): MiddlewareHandler {
  for (const k of ['verifier', 'admission', 'exposure', 'refusals', 'clock'] as const) if (!o[k]) throw new TypeError(`partnerAuth needs ${k}`);
  return async function partnerAuth(c, next) {
    const started = performance.now();
    let partner: Partner | null = null;
    try {
      const header = c.req.header('authorization');
      if (header === undefined) throw new PartnerTokenError('JWT_MISSING', 'missing Authorization: Bearer <partner JWT>');
      if (!header.startsWith('Bearer ')) throw new PartnerTokenError('JWT_MALFORMED', 'the Authorization header must be "Bearer <partner JWT>"');
      const token = await o.verifier.verify(header.slice('Bearer '.length));
      partner = token.partner;
      if (!o.exposure.admits(partner)) throw new NotExposedError(`the oracle is in ${o.exposure.current().stage}; partner ${partner.id} is not admitted yet`);
      // Remembered until the token could no longer pass the exp check anyway.
      const rate = await o.admission.admit(
        { key: `${partner.id}:${token.jti}`, expiresAt: new Date((token.exp + o.verifier.skewSeconds) * 1000) },
        { key: partner.id, limit: partner.rateLimitPerSecond, windowMs: RATE_WINDOW_MS },
        o.clock.now(),
      );
      if (rate.replayed) throw new PartnerTokenError('JTI_REPLAYED', 'this token (jti) was already used', partner.id);
      if (!rate.allowed) {
        throw new RateLimitedError(`partner ${partner.id} is limited to ${partner.rateLimitPerSecond} requests per second`, {
          details: { retryAfterSeconds: Math.max(1, Math.ceil(rate.retryAfterMs / 1000)) },
        });
      }
    } catch (err) {
      if (err instanceof TollgateError) {
        const partnerId = err instanceof PartnerTokenError ? (err.partnerId ?? partner?.id ?? null) : (partner?.id ?? null);
        const status = statusOf(err.code);
        o.refusals.record({ partnerId, code: err.code, status, message: err.message });
        o.exposure.traffic.record(o.clock.now().getTime(), performance.now() - started, status, err instanceof NotExposedError);
      }
      throw err;
    }
    c.set('partner', partner);
    let status = 500;
    try {
      await next();
      status = c.res.status;
    } catch (err) {
      status = err instanceof TollgateError ? statusOf(err.code) : 500;
      throw err;
    } finally {
      o.exposure.traffic.record(o.clock.now().getTime(), performance.now() - started, status, false);
    }
  };
}
