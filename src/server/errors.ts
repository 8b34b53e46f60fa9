import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';

import { ContractError } from '../errors';
import { isTokenLimitError } from '../graphql/limits';
import type { Logger } from './logger';

/**
 * Errors the contract names pass through as they are. Anything else is a bug or an outage: it is
 * logged in full and, outside development, reaches the caller without message, stack or SQL text.
 */
export function errorFormatter(options: { exposeInternals: boolean; logger: Logger }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && isTokenLimitError(formatted.message)) {
      return { ...formatted, extensions: { ...formatted.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } };
    }
    const code = formatted.extensions?.code;
    if (original instanceof ContractError || (code !== undefined && code !== 'INTERNAL_SERVER_ERROR')) {
      return formatted;
    }
    options.logger.error({ err: original, path: formatted.path }, 'unexpected error while resolving');
    if (options.exposeInternals) return formatted;
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
