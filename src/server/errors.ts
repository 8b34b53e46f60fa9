import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError, Kind } from 'graphql';
import { QueryFailedError } from 'typeorm';

import { isDatabaseUnavailable } from '../db/connection-errors';
import { ContractError } from '../errors';
import { isTokenLimitError } from '../graphql/limits';
import type { Logger } from '../logger';

/**
 * Errors the contract names pass through as they are. Anything else is a bug or an outage: outside
 * development it reaches the caller without message, stack or SQL text ({@link logUnexpectedError} writes it
 * down, with the request it belongs to).
 */
export function errorFormatter(options: { exposeInternals: boolean }) {
  const format = formatOne(options);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = format(formatted, error);
    // A stack helps with a bug, not with an error the caller is told to fix (development adds one to every error).
    if (result.extensions?.code === 'INTERNAL_SERVER_ERROR' || !result.extensions?.stacktrace) return result;
    const { stacktrace: _stacktrace, ...extensions } = result.extensions;
    return { ...result, extensions };
  };
}

function formatOne(options: { exposeInternals: boolean }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && isTokenLimitError(formatted.message)) {
      return { ...formatted, extensions: { ...formatted.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } };
    }
    const requestProblem = apolloRequestProblem(error);
    if (requestProblem)
      formatted = { ...formatted, extensions: { ...formatted.extensions, code: requestProblem } };
    if (formatted.extensions?.code === 'BAD_USER_INPUT' && formatted.extensions?.field === undefined) {
      const field = coercionField(formatted.message);
      if (field) return { ...formatted, extensions: { ...formatted.extensions, field } };
    }
    switch (faultOf(error)) {
      case 'caller':
        return formatted;
      case 'outage':
        // An outage, not a bug: the caller may retry.
        return {
          message: 'The database is unavailable; try again shortly',
          locations: formatted.locations,
          path: formatted.path,
          extensions: { code: 'INTERNAL_SERVER_ERROR', reason: 'DATABASE_UNAVAILABLE' },
        };
      case 'bug':
        if (options.exposeInternals) return formatted;
        return {
          message: 'Internal server error',
          locations: formatted.locations,
          path: formatted.path,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        };
    }
  };
}

/**
 * A bug is logged in full; an outage in one line without stack (readiness reports it); the caller's
 * mistakes not at all.
 */
export function logUnexpectedError(logger: Logger, error: unknown, reqId: string | undefined): void {
  const fault = faultOf(error);
  if (fault === 'caller') return;
  const original = unwrapResolverError(error);
  if (fault === 'outage') {
    const { code, message } = original as { code?: string; message?: string };
    logger.warn({ reqId, err: { code, message } }, 'database unavailable');
  } else {
    const path = error instanceof GraphQLError ? error.path : undefined;
    logger.error({ reqId, err: loggable(original), path }, 'unexpected error while resolving');
  }
}

/** Whose the error is: the caller's (any code of the contract or of Apollo's), or ours, an outage or a bug. */
function faultOf(error: unknown): 'caller' | 'outage' | 'bug' {
  const original = unwrapResolverError(error);
  const code = error instanceof GraphQLError ? error.extensions.code : undefined;
  if (original instanceof ContractError || (code !== undefined && code !== 'INTERNAL_SERVER_ERROR')) {
    return 'caller';
  }
  if (apolloRequestProblem(error)) return 'caller';
  return isDatabaseUnavailable(original) ? 'outage' : 'bug';
}

/**
 * A failed statement without its bound values (user data, webhook secrets) and without the driver's copy of the
 * SQL with those values filled in: the statement's text, the driver's code and message are enough to find it.
 */
function loggable(error: unknown): unknown {
  if (!(error instanceof QueryFailedError)) return error;
  const { code } = error.driverError as { code?: string };
  return { type: error.name, message: error.message, code, query: error.query, stack: error.stack };
}

/**
 * Apollo refuses a few malformed requests (a persisted query whose hash does not match its text, an unknown
 * persisted query version) with HTTP 400 but no code, which would read as a bug of ours: they get a code; so do
 * variables graphql-js could not coerce that Apollo leaves without one.
 */
function apolloRequestProblem(error: unknown): string | null {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return null;
  if (isVariableProblem(error)) return 'BAD_USER_INPUT';
  const status = (error.extensions.http as { status?: number } | undefined)?.status;
  if (status === undefined || status < 400 || status >= 500) return null;
  return error.message === 'provided sha does not match query'
    ? 'PERSISTED_QUERY_HASH_MISMATCH'
    : 'BAD_REQUEST';
}

/**
 * graphql-js rejects variables it cannot coerce (a malformed DateTime, an unknown enum value) before any
 * resolver runs, naming the place only in its message: `Variable "$input" got invalid value ... at
 * "input.expiresAt"`. The field is named the way the services name it: `expiresAt`, or the variable.
 */
export function coercionField(message: string): string | null {
  const absent =
    /^Variable "\$(\w+)" of (?:required|non-null) type "[^"]+" (?:was not provided|must not be null)/.exec(
      message,
    );
  if (absent) return absent[1];
  const match = /^Variable "\$(\w+)" got invalid value .*?(?: at "([^"]+)")?; (.*)$/s.exec(message);
  if (!match) return null;
  const [, variable, path, reason] = match;
  // `input.expiresAt` names `expiresAt`; an element of a list keeps the list and its index (`inputs.17.amount`).
  const segments = path ? path.replace(/\[(\d+)\]/g, '.$1').split('.') : [];
  const field = (/^\d+$/.test(segments[1] ?? '') ? segments : segments.slice(1)).join('.');
  const missing = /^Field "(\w+)" of required type/.exec(reason)?.[1];
  return [field, missing].filter(Boolean).join('.') || variable;
}

/** graphql-js's closing error once it has refused 50 variable values: no node, no code, still the caller's. */
const TOO_MANY_VARIABLE_ERRORS = /^Too many errors processing variables/;

/**
 * A variable that does not fit its declared type (as Apollo Server recognizes one: a single variable
 * definition as its node), or graphql-js giving up after too many of them.
 */
export function isVariableProblem(error: GraphQLError): boolean {
  if (TOO_MANY_VARIABLE_ERRORS.test(error.message)) return true;
  return error.nodes?.length === 1 && error.nodes[0].kind === Kind.VARIABLE_DEFINITION;
}
