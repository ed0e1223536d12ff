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

/** A mutex is held by someone else (the lock port's typed refusal). */
export class LockHeldError extends LockedError {}
/** A lease was lost (expired, taken over) before it could be extended. */
export class LockLostError extends LockedError {}
/** A guarded write carried a fencing token that is no longer the latest: its lock was lost. */
export class FencingError extends TollgateError {
  override readonly code: string = 'FENCED';
}

/** A trainer failed (exit code, crash, bad output); the message carries the tail of its log. */
export class TrainingFailedError extends TollgateError {
  override readonly code: string = 'TRAINING_FAILED';
}

/** Codes a retrain safeguard refuses with; each maps to 409. */
export const RETRAIN_REFUSALS = [
  'RETRAIN_RATE_LIMIT',
  'RETRAIN_COOLDOWN',
  'RETRAIN_CIRCUIT_OPEN',
  'BLOCK_RETRAINING',
  'LOCKED',
] as const;
export type RetrainRefusalCode = (typeof RETRAIN_REFUSALS)[number];

/** A retrain refused by one of its safeguards; `code` names the safeguard. */
export class RetrainRefusedError extends TollgateError {
  override readonly code: string;
  constructor(code: RetrainRefusalCode | string, message: string, options?: { details?: Record<string, unknown> }) {
    super(message, options);
    this.code = code;
  }
}

/** Codes a feature flag's stage change or kill is refused with; each maps to 409. */
export const FLAG_REFUSALS = ['GATE_FAILED', 'CHECKLIST_INCOMPLETE', 'DEPENDENCY_NOT_READY', 'ALREADY_KILLED'] as const;
export type FlagRefusalCode = (typeof FLAG_REFUSALS)[number];

/** A flag decision refused: `code` names the failing rule, `details` carries its numbers. */
export class FlagRefusedError extends TollgateError {
  override readonly code: string;
  constructor(code: FlagRefusalCode | string, message: string, options?: { details?: Record<string, unknown> }) {
    super(message, options);
    this.code = code;
  }
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
/** A rollback with nothing to go back to (no champion, or no previous stable version). */
export class NothingToRollBackError extends TollgateError {
  override readonly code: string = 'NOTHING_TO_ROLL_BACK';
}

// ---- governance (M-of-N unlocks)

/** A governance-locked action was tried without a valid committee unlock. */
export class GovernanceUnlockRequiredError extends ForbiddenError {
  override readonly code: string = 'GOVERNANCE_UNLOCK_REQUIRED';
}
/** The unlock given does not authorise this action (wrong action or params, bad signature, used, expired). */
export class GovernanceUnlockInvalidError extends ForbiddenError {
  override readonly code: string = 'GOVERNANCE_UNLOCK_INVALID';
}
/** A share submission names a member the active committee does not have. */
export class NotACommitteeMemberError extends ForbiddenError {
  override readonly code: string = 'NOT_A_COMMITTEE_MEMBER';
}
/** A share submission's signature does not verify over this request's binding. */
export class ShareSignatureInvalidError extends ForbiddenError {
  override readonly code: string = 'SHARE_SIGNATURE_INVALID';
}
/** A share does not match its holder's commitment: tampered or wrong; the holder is named. */
export class ShareCommitmentMismatchError extends ForbiddenError {
  override readonly code: string = 'SHARE_COMMITMENT_MISMATCH';
}
/** The unlock request is past its expiry. */
export class UnlockExpiredError extends TollgateError {
  override readonly code: string = 'UNLOCK_EXPIRED';
}
/** The unlock request no longer takes shares (unlocked or consumed). */
export class UnlockNotOpenError extends TollgateError {
  override readonly code: string = 'UNLOCK_NOT_OPEN';
}
/** This member's share is already counted for this request and nonce. */
export class ShareAlreadyReceivedError extends TollgateError {
  override readonly code: string = 'SHARE_ALREADY_RECEIVED';
}
/** No committee has been installed (run `tollgate committee init`). */
export class NoCommitteeError extends TollgateError {
  override readonly code: string = 'NO_COMMITTEE';
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
  NOTHING_TO_ROLL_BACK: NothingToRollBackError,
  FENCED: FencingError,
  TRAINING_FAILED: TrainingFailedError,
  GOVERNANCE_UNLOCK_REQUIRED: GovernanceUnlockRequiredError,
  GOVERNANCE_UNLOCK_INVALID: GovernanceUnlockInvalidError,
  NOT_A_COMMITTEE_MEMBER: NotACommitteeMemberError,
  SHARE_SIGNATURE_INVALID: ShareSignatureInvalidError,
  SHARE_COMMITMENT_MISMATCH: ShareCommitmentMismatchError,
  UNLOCK_EXPIRED: UnlockExpiredError,
  UNLOCK_NOT_OPEN: UnlockNotOpenError,
  SHARE_ALREADY_RECEIVED: ShareAlreadyReceivedError,
  NO_COMMITTEE: NoCommitteeError,
};
for (const code of [...RETRAIN_REFUSALS, ...FLAG_REFUSALS]) {
  if (!BY_CODE[code]) BY_CODE[code] = class extends ((RETRAIN_REFUSALS as readonly string[]).includes(code) ? RetrainRefusedError : FlagRefusedError) {
    constructor(message: string, options?: { details?: Record<string, unknown> }) {
      super(code, message, options);
    }
  };
}

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
    // Anyone on the internet can make the oracle refuse a token, as often as they like:
    // a refusal carries no stack trace (it would say nothing, and cost a tenth of the refusal).
    const depth = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = depth;
    this.code = code;
  }
}

/** The oracle's exposure stage does not admit this caller (403). */
export class NotExposedError extends ForbiddenError {
  override readonly code: string = 'ORACLE_NOT_EXPOSED';
}

/** The jti replay cache cannot be reached: the oracle fails closed (503). */
export class ReplayCacheUnavailableError extends UnavailableError {
  override readonly code: string = 'REPLAY_CACHE_UNAVAILABLE';
}

/** The shared rate limiter cannot be reached: the oracle fails closed (503). */
export class RateLimiterUnavailableError extends UnavailableError {
  override readonly code: string = 'RATE_LIMITER_UNAVAILABLE';
}
