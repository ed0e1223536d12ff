/**
 * Domain errors. One class per failure, each with a stable `code` that
 * crosses process boundaries as `{ code, message, retryable }` and is rebuilt
 * into the same class on the other side (see `errorFromWire`).
 */
export class TollgateError extends Error {
  readonly code: string = 'INTERNAL';
  readonly retryable: boolean = false;
  readonly details?: Readonly<Record<string, unknown>>;

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.details) this.details = Object.freeze({ ...options.details });
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable, ...(this.details ? { details: this.details } : {}) };
  }
}

export interface WireError {
  code: string;
  message: string;
  retryable: boolean;
  details?: Readonly<Record<string, unknown>>;
}

export class BadRequestError extends TollgateError {
  override readonly code: string = 'BAD_REQUEST';
}
export class UnauthenticatedError extends TollgateError {
  override readonly code: string = 'UNAUTHENTICATED';
}
export class ForbiddenError extends TollgateError {
  override readonly code: string = 'FORBIDDEN';
}
export class NotFoundError extends TollgateError {
  override readonly code: string = 'NOT_FOUND';
}
export class IllegalTransitionError extends TollgateError {
  override readonly code: string = 'ILLEGAL_TRANSITION';
}
export class RevisionConflictError extends TollgateError {
  override readonly code: string = 'REVISION_CONFLICT';
  override readonly retryable = true;
}
export class IdempotencyConflictError extends TollgateError {
  override readonly code: string = 'IDEMPOTENCY_CONFLICT';
}
export class AlreadyExistsError extends TollgateError {
  override readonly code: string = 'ALREADY_EXISTS';
}
export class LockedError extends TollgateError {
  override readonly code: string = 'LOCKED';
}
export class PayloadTooLargeError extends TollgateError {
  override readonly code: string = 'PAYLOAD_TOO_LARGE';
}
export class RateLimitedError extends TollgateError {
  override readonly code: string = 'RATE_LIMITED';
  override readonly retryable = true;
}
export class UnavailableError extends TollgateError {
  override readonly code: string = 'UNAVAILABLE';
  override readonly retryable = true;
}

/** Nobody listens on the subject a request was sent to. */
export class NoRespondersError extends UnavailableError {
  override readonly code: string = 'NO_RESPONDERS';
}
/** A request got no answer in time. */
export class RequestTimeoutError extends UnavailableError {
  override readonly code: string = 'TIMEOUT';
}

/** A message crashed its actor on every attempt and was set aside. */
export class DeadLetteredError extends TollgateError {
  override readonly code: string = 'DEAD_LETTERED';
}

const BY_CODE: Record<string, new (message: string, options?: { details?: Record<string, unknown> }) => TollgateError> = {
  BAD_REQUEST: BadRequestError,
  UNAUTHENTICATED: UnauthenticatedError,
  FORBIDDEN: ForbiddenError,
  NOT_FOUND: NotFoundError,
  ILLEGAL_TRANSITION: IllegalTransitionError,
  REVISION_CONFLICT: RevisionConflictError,
  IDEMPOTENCY_CONFLICT: IdempotencyConflictError,
  ALREADY_EXISTS: AlreadyExistsError,
  LOCKED: LockedError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  RATE_LIMITED: RateLimitedError,
  UNAVAILABLE: UnavailableError,
  NO_RESPONDERS: NoRespondersError,
  TIMEOUT: RequestTimeoutError,
  DEAD_LETTERED: DeadLetteredError,
};

/** An error whose code this process does not know; code and retryable kept as sent. */
export class RemoteError extends TollgateError {
  override readonly code: string;
  override readonly retryable: boolean;
  constructor(wire: WireError) {
    super(wire.message, wire.details ? { details: { ...wire.details } } : undefined);
    this.code = wire.code;
    this.retryable = wire.retryable;
  }
}

/** Rebuilds the error class a peer sent as `{ code, message, retryable }`. */
export function errorFromWire(wire: WireError): TollgateError {
  const Ctor = BY_CODE[wire.code];
  if (!Ctor) return new RemoteError(wire);
  return new Ctor(wire.message, wire.details ? { details: { ...wire.details } } : undefined);
}

/** Why a partner's token or request was refused: one code per failed check. */
export const PARTNER_REFUSALS = [
  'JWT_MISSING',
  'JWT_MALFORMED',
  'JWT_ALG_NOT_ALLOWED',
  'JWT_FORBIDDEN_HEADER',
  'JWT_BAD_TYP',
  'JWT_UNKNOWN_KID',
  'JWT_KID_ALG_MISMATCH',
  'JWT_BAD_SIGNATURE',
  'JWT_MISSING_CLAIM',
  'JWT_BAD_ISSUER',
  'JWT_BAD_AUDIENCE',
  'JWT_EXPIRED',
  'JWT_NOT_YET_VALID',
  'JWT_ISSUED_IN_FUTURE',
  'JWT_LIFETIME_TOO_LONG',
  'JTI_REPLAYED',
] as const;
export type PartnerRefusal = (typeof PARTNER_REFUSALS)[number];

/** A partner token failed one named check (401). Messages never carry key material. */
export class PartnerTokenError extends UnauthenticatedError {
  override readonly code: PartnerRefusal;
  constructor(
    code: PartnerRefusal,
    message: string,
    /** The partner the token claimed to be, when one was named and known. */
    readonly partnerId: string | null = null,
  ) {
    super(message);
    this.code = code;
  }
}

/** The oracle's exposure stage does not admit this caller (403). */
export class NotExposedError extends ForbiddenError {
  override readonly code: string = 'ORACLE_NOT_EXPOSED';
}

/** The action is governance-locked and no accepted unlock was presented (403). */
export class GovernanceUnlockRequiredError extends ForbiddenError {
  override readonly code: string = 'GOVERNANCE_UNLOCK_REQUIRED';
}

/** The jti replay cache cannot be reached: the oracle fails closed (503). */
export class ReplayCacheUnavailableError extends UnavailableError {
  override readonly code: string = 'REPLAY_CACHE_UNAVAILABLE';
}

/** The shared rate limiter cannot be reached: the oracle fails closed (503). */
export class RateLimiterUnavailableError extends UnavailableError {
  override readonly code: string = 'RATE_LIMITER_UNAVAILABLE';
}
