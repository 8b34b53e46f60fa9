import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError, OperationDefinitionNode } from 'graphql';
import { Kind } from 'graphql';
import stringify from 'safe-stable-stringify';

/** For one `_entities` field: which distinct representation answers each original position. */
interface Fanout {
  responseKey: string;
  /** `sourceOf[position]` = the index of its representation among the distinct ones. */
  sourceOf: number[];
}

export interface DistinctPlan {
  /** The request's variables with every `_entities` representation list reduced to its distinct entries. */
  variables: Record<string, unknown>;
  fanouts: Fanout[];
}

/**
 * Plans the execution of an operation's `_entities` fields over distinct representations only, when they
 * repeat: a list of 20,000 copies of one User executes one User, not 20,000. Only representations passed as
 * a variable (as routers send them) and made of objects are considered; a literal list is bounded by the
 * token limit. Null when nothing repeats.
 */
export function planDistinctRepresentations(
  operation: OperationDefinitionNode | undefined,
  variables: Record<string, unknown> | undefined,
): DistinctPlan | null {
  if (operation?.operation !== 'query' || !variables) return null;
  const reduced = new Map<string, { distinct: unknown[]; sourceOf: number[] }>();
  const fanouts: Fanout[] = [];
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || selection.name.value !== '_entities') continue;
    const argument = selection.arguments?.find((arg) => arg.name.value === 'representations');
    if (argument?.value.kind !== Kind.VARIABLE) continue;
    const name = argument.value.name.value;
    let plan = reduced.get(name);
    if (!plan) {
      const list = variables[name];
      if (!Array.isArray(list) || !list.every((item) => typeof item === 'object' && item !== null)) continue;
      plan = distinctOf(list);
      reduced.set(name, plan);
    }
    if (plan.distinct.length < plan.sourceOf.length) {
      fanouts.push({ responseKey: selection.alias?.value ?? '_entities', sourceOf: plan.sourceOf });
    }
  }
  if (fanouts.length === 0) return null;
  const reducedVariables = { ...variables };
  for (const [name, { distinct }] of reduced) reducedVariables[name] = distinct;
  return { variables: reducedVariables, fanouts };
}

function distinctOf(list: unknown[]): { distinct: unknown[]; sourceOf: number[] } {
  const indexByKey = new Map<string, number>();
  const distinct: unknown[] = [];
  const sourceOf = list.map((item) => {
    const key = keyOf(item as Record<string, unknown>);
    let index = indexByKey.get(key);
    if (index === undefined) {
      index = distinct.push(item) - 1;
      indexByKey.set(key, index);
    }
    return index;
  });
  return { distinct, sourceOf };
}

/**
 * Routers send `{ __typename, id }`, keyed here without serializing; anything else by its canonical JSON (which
 * escapes the NUL of the short form, so the two never collide).
 */
function keyOf(item: Record<string, unknown>): string {
  const { __typename, id } = item;
  if (typeof __typename === 'string' && typeof id === 'string' && Object.keys(item).length === 2) {
    return `${__typename}\u0000${id}`;
  }
  return stringify(item) ?? '';
}

/** Puts each distinct answer (and each error under it) back at every position that asked for it. */
export function fanOut(
  plan: DistinctPlan,
  result: { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] },
): void {
  for (const { responseKey, sourceOf } of plan.fanouts) {
    const answers = result.data?.[responseKey];
    if (Array.isArray(answers)) result.data![responseKey] = sourceOf.map((index) => answers[index]);
    if (!result.errors) continue;
    const positionsOf = new Map<number, number[]>();
    sourceOf.forEach((index, position) => {
      const positions = positionsOf.get(index);
      if (positions) positions.push(position);
      else positionsOf.set(index, [position]);
    });
    result.errors = result.errors.flatMap((error) => {
      const [key, index, ...rest] = error.path ?? [];
      if (key !== responseKey || typeof index !== 'number') return [error];
      return (positionsOf.get(index) ?? []).map((position) => ({ ...error, path: [key, position, ...rest] }));
    });
  }
}

/** Executes HTTP `_entities` requests over their distinct representations and fans the answers out. */
export const distinctRepresentationsPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    let plan: DistinctPlan | null = null;
    return {
      async didResolveOperation({ operation, request }) {
        plan = planDistinctRepresentations(operation, request.variables);
        if (plan) request.variables = plan.variables;
      },
      async willSendResponse({ response }) {
        if (plan && response.body.kind === 'single') fanOut(plan, response.body.singleResult);
      },
    };
  },
};
