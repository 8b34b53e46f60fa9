import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import type {
  DocumentNode,
  GraphQLFormattedError,
  GraphQLSchema,
  OperationDefinitionNode,
  ValidationRule,
} from 'graphql';
import { GraphQLError } from 'graphql';

import type { Caller } from '../auth/caller';
import type { RequestContext } from '../graphql/context';
import { assertCostWithinLimit, parseOptions, queryLimitRules } from '../graphql/limits';
import type { Logger } from '../logger';
import { errorFormatter, isVariableProblem, logUnexpectedError } from './errors';
import { assertIntrospectionAuthenticated } from './introspection';

/**
 * What every operation goes through, whichever transport brought it: the same validation rules (limits;
 * no introspection in production), the same checks once the operation and its variables are known (cost,
 * introspection needs a token), and the same error formatting (masking and logging; no "Did you mean"
 * hints in production). HTTP plugs it into Apollo Server; the WebSocket transport calls the same functions.
 */
export interface OperationPipeline {
  production: boolean;
  /** Applied after graphql-js's own rules. */
  validationRules: ValidationRule[];
  /** Throws the GraphQLError that refuses a valid operation given these variables and this caller. */
  checkOperation(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Readonly<Record<string, unknown>> | null | undefined,
    caller: Caller,
  ): void;
  /** What the caller sees of errors, as Apollo Server formats them over HTTP; unexpected ones are logged. */
  formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[];
  /** The pipeline's part of Apollo Server's options, its plugin included. */
  apolloOptions: Pick<
    ApolloServerOptions<RequestContext>,
    'introspection' | 'includeStacktraceInErrorResponses' | 'formatError' | 'validationRules' | 'parseOptions'
  >;
  apolloPlugin: ApolloServerPlugin<RequestContext>;
}

export function createOperationPipeline(options: {
  schema: GraphQLSchema;
  nodeEnv: 'development' | 'test' | 'production';
  logger: Logger;
}): OperationPipeline {
  const production = options.nodeEnv === 'production';
  const development = options.nodeEnv === 'development';
  const { logger } = options;
  const formatContractErrors = errorFormatter({ exposeInternals: development });
  // The hints map the schema for a caller who may not introspect it (as Apollo's own plugin words it).
  const formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = formatContractErrors(formatted, error);
    return production ? { ...result, message: withoutSuggestion(result.message) } : result;
  };
  const validationRules = [...queryLimitRules(), ...(production ? [noIntrospection] : [])];

  function checkOperation(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Readonly<Record<string, unknown>> | null | undefined,
    caller: Caller,
  ): void {
    assertIntrospectionAuthenticated(document, operation, caller);
    assertCostWithinLimit(options.schema, document, operation, variables);
  }

  return {
    production,
    validationRules,
    checkOperation,
    formatErrors: (errors) =>
      errors.map((raw) => {
        const error = asBadUserInput(raw);
        logUnexpectedError(logger, error, undefined);
        // As Apollo Server's normalization: a default code, no HTTP-only extension, a stack in development.
        const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
        extensions.code ??= 'INTERNAL_SERVER_ERROR';
        if (development) extensions.stacktrace = error.stack?.split('\n');
        return formatError({ ...error.toJSON(), extensions }, error);
      }),
    apolloOptions: {
      // Refused by the validation rule above instead, the same one the WebSocket transport applies.
      introspection: true,
      includeStacktraceInErrorResponses: development,
      formatError,
      validationRules,
      parseOptions,
    },
    // Errors are logged here, where the request's id is known (Apollo's formatError is not told the request).
    apolloPlugin: {
      async requestDidStart() {
        return {
          async didResolveOperation({ document, operation, request, contextValue }) {
            if (operation) checkOperation(document, operation, request.variables, contextValue.caller);
          },
          async didEncounterErrors({ errors, contextValue }) {
            for (const error of errors) logUnexpectedError(logger, error, contextValue.requestId);
          },
          async didEncounterSubsequentErrors({ contextValue }, errors) {
            for (const error of errors) logUnexpectedError(logger, error, contextValue.requestId);
          },
        };
      },
      async unexpectedErrorProcessingRequest({ requestContext, error }) {
        logUnexpectedError(logger, error, requestContext.contextValue?.requestId);
      },
    },
  };
}

/** Apollo Server's rule for `introspection: false`: one error per `__schema` or `__type` field. */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(
        new GraphQLError('GraphQL introspection is not allowed here', {
          nodes: [node],
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      );
    }
  },
});

/** Apollo Server's own pattern for graphql-js's "Did you mean ...?" hints. */
function withoutSuggestion(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}

/**
 * Variables that do not fit their declared types are the caller's mistake on every transport: BAD_USER_INPUT
 * (the formatter names the field). graphql-js coerces them once, when execution starts, and refuses before any
 * resolver runs; Apollo Server codes its refusal so over HTTP, and this does the same for the WebSocket
 * transport, which would otherwise read an uncoded error as a failure of ours. (A check of its own before
 * execution would coerce every variable twice: on a batch of a hundred inputs, a tenth of the request's CPU.)
 */
function asBadUserInput(error: GraphQLError): GraphQLError {
  if (error.extensions.code !== undefined || !isVariableProblem(error)) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'BAD_USER_INPUT' } });
}
