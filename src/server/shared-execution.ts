import type { DocumentNode, ExecutionArgs, ExecutionResult } from 'graphql';
import { createSourceEventStream, execute } from 'graphql';

import type { RequestContext } from '../graphql/context';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Per event, per document, per (caller, variables, operation): the one execution they share. */
const executions = new WeakMap<object, Map<DocumentNode, Map<string, Result>>>();

/**
 * graphql's `subscribe`, except that subscriptions on this replica which ask the same document with the same
 * variables, for the same caller (identity and scopes, which is all access depends on), execute each event
 * once and share the result: a revocation watched by a thousand sockets of one service is resolved once,
 * not a thousand times. The feed hands every listener the same event object; the results are dropped with
 * it. (Documents are shared across subscriptions by the parse cache, so equal text is the same document.)
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

function shareKey(args: ExecutionArgs): string {
  const { caller } = args.contextValue as RequestContext;
  return JSON.stringify([
    caller.subject,
    [...caller.scopes].sort(),
    args.operationName ?? null,
    args.variableValues ?? null,
  ]);
}
