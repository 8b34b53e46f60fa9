import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLError, ParseOptions, ValidationContext, ValidationRule } from 'graphql';

/**
 * Bounds on what one operation may ask for, shared by every transport (HTTP now, WebSocket later).
 * Sized for real traffic: the deepest useful query (events -> grant -> user -> entitlements -> grants
 * -> feature) is 8 levels, and the router sends one `_entities` operation whatever the number of
 * representations, which travel as variables and cost nothing here.
 */
// The cost estimate multiplies by a literal `first` only (a variable counts as 1), so the bound is sized
// for a literal full page of the audit trail; `first` itself is capped at 1,000 either way.
export const QUERY_LIMITS = {
  maxDepth: 12,
  maxAliases: 30,
  maxDirectives: 50,
  maxTokens: 5000,
  maxCost: 100_000,
} as const;

export const parseOptions: ParseOptions = { maxTokens: QUERY_LIMITS.maxTokens };

/**
 * graphql-armor throws from inside the validation visitor by default, which graphql-js does not catch
 * (Apollo then answers 500); reporting through the context makes it an ordinary validation error.
 */
const reportInstead = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

export function queryLimitRules(): ValidationRule[] {
  return [
    // Introspection is skipped by field (`__schema`), not by operation or fragment name, which is what
    // made GHSA-hmfr-rx46-4jx2 possible; fragments count as the fields they stand for.
    maxDepthRule({
      n: QUERY_LIMITS.maxDepth,
      ignoreIntrospection: true,
      flattenFragments: true,
      ...reportInstead,
    }),
    maxAliasesRule({ n: QUERY_LIMITS.maxAliases, ...reportInstead }),
    maxDirectivesRule({ n: QUERY_LIMITS.maxDirectives, ...reportInstead }),
    costLimitRule({ maxCost: QUERY_LIMITS.maxCost, flattenFragments: true, ...reportInstead }),
  ] as ValidationRule[];
}

/**
 * graphql-js reports its token limit as a syntax error; the contract calls it a validation failure.
 * (graphql 16 spells it "more that N tokens"; a fixed spelling must keep working.)
 */
export function isTokenLimitError(message: string): boolean {
  return /^Syntax Error: Document contains more tha[nt] \d+ tokens/.test(message);
}
