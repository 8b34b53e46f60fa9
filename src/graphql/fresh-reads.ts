import type { MiddlewareFn } from 'type-graphql';

import type { RequestContext } from './context';

/**
 * Mutations run one after another within an operation; dropping the loaders' caches after each one
 * makes the fields of its result, and of any later mutation, read the state it committed.
 */
export async function withFreshReadsAfter<T>(context: RequestContext, mutation: Promise<T>): Promise<T> {
  const result = await mutation;
  context.loaders.clear();
  return result;
}

/**
 * `withFreshReadsAfter` as type-graphql middleware. Applied to mutations only: a global middleware would wrap
 * every field and slow large reads.
 */
export const freshReadsAfterMutation: MiddlewareFn<RequestContext> = ({ context }, next) =>
  withFreshReadsAfter(context, next());
