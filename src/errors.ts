import { GraphQLError } from 'graphql';

/**
 * The contract's error codes. Every error a caller is meant to act on is one of these classes, so
 * `extensions.code` never depends on message text, and anything else can be masked as internal.
 */
export const CONTRACT_ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'SEAT_LIMIT_REACHED',
] as const;
export type ErrorCode = (typeof CONTRACT_ERROR_CODES)[number];

/** Every code a response may carry: the contract's, and those of the request pipeline (Apollo Server, graphql-js). */
export const ERROR_CODES = [
  ...CONTRACT_ERROR_CODES,
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
  'INTERNAL_SERVER_ERROR',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_HASH_MISMATCH',
] as const;

export abstract class ContractError extends GraphQLError {
  protected constructor(message: string, code: ErrorCode, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
    this.name = new.target.name;
  }
}

export class UnauthenticatedError extends ContractError {
  constructor(message = 'A valid bearer token is required') {
    super(message, 'UNAUTHENTICATED');
  }
}

export class ForbiddenError extends ContractError {
  constructor(message = 'The token does not allow this operation') {
    super(message, 'FORBIDDEN');
  }
}

/** Invalid input; `field` names the offending argument or input field, e.g. `expiresAt`. */
export class BadUserInputError extends ContractError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message, 'BAD_USER_INPUT', { field });
  }
}

export class NotFoundError extends ContractError {
  constructor(what: string, key: string) {
    super(`${what} "${key}" does not exist`, 'NOT_FOUND');
  }
}

/** An idempotency key reused with other input; in a batch, `field` names the input (`inputs.3.idempotencyKey`). */
export class ConflictError extends ContractError {
  constructor(message: string, field?: string) {
    super(message, 'CONFLICT', field === undefined ? {} : { field });
  }
}

/** Every seat of the organization's license is taken (rule O2); nothing changed. */
export class SeatLimitReachedError extends ContractError {
  constructor(organizationId: string, seatLimit: number) {
    super(
      `Organization "${organizationId}" has no free seat (its limit is ${seatLimit})`,
      'SEAT_LIMIT_REACHED',
    );
  }
}
