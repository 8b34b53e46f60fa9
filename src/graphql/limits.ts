import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  ParseOptions,
  SelectionSetNode,
  ValidationContext,
  ValidationRule,
  ValueNode,
} from 'graphql';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
} from 'graphql';

/**
 * Bounds on what one operation may ask for, shared by both transports (HTTP and WebSocket). Sized for real
 * traffic: the deepest useful query (events -> grant -> user -> entitlements -> grants -> feature) is
 * 8 levels; a literal or variable full page of the audit trail fits the cost, and so does the router's
 * `_entities` operation with 10,000 representations asking a user's tier and a few entitlements.
 */
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
  ] as ValidationRule[];
}

/** graphql-armor's cost weights: a leaf 1, an object 2 plus 1.5 times what it selects. */
const SCALAR_COST = 1;
/**
 * What a field costs beyond its shape, by `Type.field`, where answering it costs far more than a read: a license
 * token is a signature, and with both its fields it costs 50, so one operation may ask for at most 2,000.
 */
const FIELD_COSTS: ReadonlyMap<string, number> = new Map([['User.licenseToken', 45]]);
/**
 * A list without `first`/`last` counts as one item, except a list of a type already selected above it, which
 * counts as this many: a user's entitlements, each with its grants, each leading back to the user and its
 * entitlements (or an organization's, through `organizations`), multiply at every turn of such a loop while an
 * estimate of one item per list stays flat.
 */
const LOOPING_LIST_SIZE = 10;

/** The types selected on the way to a selection (each field's, each fragment's type condition). */
type Place = ReadonlySet<string>;
const TOP: Place = new Set();
const within = (place: Place, type: GraphQLNamedType | null | undefined): Place =>
  type ? new Set(place).add(type.name) : place;
const OBJECT_COST = 2;
const DEPTH_FACTOR = 1.5;

/**
 * Refuses an operation whose estimated cost, with the request's variables, is over `QUERY_LIMITS.maxCost`.
 * It runs once the operation is known and validated (a static rule cannot see variables, so a
 * `first: $n` would count as 1). The document must have passed validation: fragments exist and do not cycle.
 */
export function assertCostWithinLimit(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): void {
  const cost = costOf(schema, document, operation, variables ?? {});
  if (cost > QUERY_LIMITS.maxCost) {
    throw new GraphQLError(`Query cost limit of ${QUERY_LIMITS.maxCost} exceeded, found ${cost}.`, {
      // `http` makes Apollo Server answer 400, as for the other limits; the WebSocket transport drops it.
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
    });
  }
}

/**
 * An operation whose cost reads no variable costs the same for every request (a mutation's input, say):
 * reckoned once per operation node (parsed once per text).
 */
const fixedCosts = new WeakMap<OperationDefinitionNode, number>();
function costOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): number {
  const fixed = fixedCosts.get(operation);
  if (fixed !== undefined) return fixed;
  const { cost, readsVariables } = operationCost(schema, document, operation, variables);
  if (!readsVariables) fixedCosts.set(operation, cost);
  return cost;
}

/**
 * graphql-armor's estimate (fragments count as the fields they stand for; `__schema` costs nothing), with
 * `first`/`last` read from literals or variables, or, when absent or null, the argument's default in the
 * schema (what the resolver then returns); `_entities` is multiplied by its number of representations, each
 * costing what its selection would cost as an operation of its own. `readsVariables`: whether the cost
 * depends on any variable.
 */
function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): { cost: number; readsVariables: boolean } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const defaults = new Map(
    (operation.variableDefinitions ?? []).map((definition) => [
      definition.variable.name.value,
      definition.defaultValue,
    ]),
  );
  let readsVariables = false;
  const valueOf = (node: ValueNode): unknown => {
    if (node.kind === Kind.INT) return Number(node.value);
    if (node.kind === Kind.LIST) return node.values;
    if (node.kind !== Kind.VARIABLE) return undefined;
    readsVariables = true;
    const name = node.name.value;
    // Its own keys only, as graphql-js reads them: `$constructor` is not Object.prototype's.
    if (Object.hasOwn(variables, name)) return variables[name];
    const fallback = defaults.get(name);
    return fallback ? valueOf(fallback) : undefined;
  };
  const typeNamed = (name: string | undefined, fallback: GraphQLNamedType | undefined) =>
    name === undefined ? fallback : schema.getType(name);

  /**
   * A named fragment's cost at weight 1, once for each place it is spread in: a cost is linear in its weight,
   * and a fragment spread ten times in each of eight nested fragments must not be walked 10^8 times.
   */
  const fragmentCosts = new Map<string, number>();
  const fragmentCost = (fragment: FragmentDefinitionNode, place: Place): number => {
    const key = [fragment.name.value, ...[...place].sort()].join('\u0000');
    let cost = fragmentCosts.get(key);
    if (cost === undefined) {
      const type = schema.getType(fragment.typeCondition.name.value) ?? undefined;
      cost = sumOf(fragment.selectionSet, 1, type, within(place, type));
      fragmentCosts.set(key, cost);
    }
    return cost;
  };

  /** The fields of a selection set, fragments flattened into it; `parent` is the type they are selected on. */
  const sumOf = (
    selectionSet: SelectionSetNode,
    weight: number,
    parent: GraphQLNamedType | undefined,
    place: Place,
  ): number =>
    selectionSet.selections.reduce((total, selection) => {
      if (selection.kind === Kind.FIELD) return total + weight * fieldCost(selection, parent, place);
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = typeNamed(selection.typeCondition?.name.value, parent);
        return total + sumOf(selection.selectionSet, weight, type, within(place, type));
      }
      const fragment = fragments.get(selection.name.value);
      return fragment ? total + weight * fragmentCost(fragment, place) : total;
    }, 0);

  const fieldCost = (field: FieldNode, parent: GraphQLNamedType | undefined, place: Place): number => {
    if (field.name.value === '__schema') return 0;
    const own = FIELD_COSTS.get(`${parent?.name}.${field.name.value}`) ?? 0;
    if (!field.selectionSet) return own + SCALAR_COST;
    const definition =
      isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[field.name.value] : undefined;
    const type = definition ? getNamedType(definition.type) : undefined;
    if (field.name.value === '_entities') {
      return representationCount(field) * sumOf(field.selectionSet, 1, type, TOP);
    }
    const list = definition !== undefined && isListType(getNullableType(definition.type));
    const loops = type !== undefined && place.has(type.name);
    const size = pageSize(field, definition) ?? (list && loops ? LOOPING_LIST_SIZE : 1);
    return (OBJECT_COST + own + sumOf(field.selectionSet, DEPTH_FACTOR, type, within(place, type))) * size;
  };

  const argument = (field: FieldNode, name: string) =>
    field.arguments?.find((candidate) => candidate.name.value === name)?.value;

  /** What `first` or `last` asks for (or defaults to); undefined for a field without them. */
  const pageSize = (
    field: FieldNode,
    definition: GraphQLField<unknown, unknown> | undefined,
  ): number | undefined => {
    for (const name of ['first', 'last']) {
      const node = argument(field, name);
      const given = node ? valueOf(node) : undefined;
      const size = given ?? definition?.args.find((arg) => arg.name === name)?.defaultValue;
      if (typeof size === 'number' && Number.isFinite(size)) return Math.max(size, 1);
    }
    return undefined;
  };

  const representationCount = (field: FieldNode): number => {
    const node = argument(field, 'representations');
    const representations = node ? valueOf(node) : undefined;
    return Array.isArray(representations) ? representations.length : 1;
  };

  const cost = sumOf(operation.selectionSet, 1, schema.getRootType(operation.operation) ?? undefined, TOP);
  return { cost, readsVariables };
}

/**
 * graphql-js reports its token limit as a syntax error; the contract calls it a validation failure.
 * (graphql 16 spells it "more that N tokens"; a fixed spelling must keep working.)
 */
export function isTokenLimitError(message: string): boolean {
  return /^Syntax Error: Document contains more tha[nt] \d+ tokens/.test(message);
}
