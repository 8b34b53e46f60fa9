import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import { BREAK, createSourceEventStream, execute, TypeInfo, visit, visitWithTypeInfo } from 'graphql';

import type { RequestContext } from '../graphql/context';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Per event, per document, per (caller, variables, operation): the one execution they share. */
const executions = new WeakMap<object, Map<DocumentNode, Map<string, Result>>>();

/**
 * The fields whose value is the same whoever asks (nothing in them reads the caller): an event's own data, the
 * ids of its user and organization, and the catalog. Which events reach a subscriber is decided before
 * execution, by its stream's filter.
 */
const SAME_FOR_EVERY_CALLER: Record<string, ReadonlySet<string> | 'every field'> = {
  Subscription: new Set(['licenseEvents', 'entitlementGranted', 'entitlementRevoked']),
  LicenseEvent: new Set([
    'id',
    'type',
    'actor',
    'reason',
    'threshold',
    'occurredAt',
    'user',
    'organization',
    'feature',
    'fromTier',
    'toTier',
  ]),
  User: new Set(['id']),
  Organization: new Set(['id']),
  Feature: 'every field',
  Tier: 'every field',
  TierEntitlement: 'every field',
};

/** Whether each document selects only fields of SAME_FOR_EVERY_CALLER (documents are shared by the parse cache). */
const sameForEveryCaller = new WeakMap<DocumentNode, boolean>();

/**
 * graphql's `subscribe`, except that subscriptions on this replica which ask the same document with the same
 * variables, for the same caller (identity and scopes, which is all access depends on), execute each event
 * once and share the result: a revocation watched by a thousand sockets of one service is resolved once,
 * not a thousand times. A document that selects only what is the same for every caller is shared by every
 * caller: an organization's event, watched by each of its thousand seat holders with their own token, is
 * resolved once too. The feed hands every listener the same event object; the results are dropped with it.
 * (Documents are shared across subscriptions by the parse cache, so equal text is the same document.)
 */
export async function subscribeShared(
  args: ExecutionArgs,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const key = shareKey(args);
  const events = source as AsyncIterableIterator<unknown>;
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const next = await events.next();
      if (next.done) return { done: true, value: undefined };
      return { done: false, value: await executeOnce(next.value, args, key) };
    },
    async return() {
      await events.return?.();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await events.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return results;
    },
  };
  return results;
}

function executeOnce(event: unknown, args: ExecutionArgs, key: string): Result {
  if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
  let byDocument = executions.get(event);
  if (!byDocument) executions.set(event, (byDocument = new Map()));
  let byKey = byDocument.get(args.document);
  if (!byKey) byDocument.set(args.document, (byKey = new Map()));
  let result = byKey.get(key);
  if (!result) byKey.set(key, (result = execute({ ...args, rootValue: event })));
  return result;
}

/** Subscriptions with the same key share each event's execution: the caller is part of it unless it cannot matter. */
export function shareKey(args: ExecutionArgs): string {
  const { caller } = args.contextValue as RequestContext;
  const asked = [args.operationName ?? null, args.variableValues ?? null];
  if (isSameForEveryCaller(args.schema, args.document)) return JSON.stringify(asked);
  return JSON.stringify([caller.subject, [...caller.scopes].sort(), ...asked]);
}

function isSameForEveryCaller(schema: GraphQLSchema, document: DocumentNode): boolean {
  let same = sameForEveryCaller.get(document);
  if (same === undefined) {
    same = true;
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          if (node.name.value === '__typename') return undefined;
          const fields = SAME_FOR_EVERY_CALLER[typeInfo.getParentType()?.name ?? ''];
          if (fields === 'every field' || fields?.has(node.name.value)) return undefined;
          same = false;
          return BREAK;
        },
      }),
    );
    sameForEveryCaller.set(document, same);
  }
  return same;
}
