import { assertAuthenticated } from '../../auth/access';
import { BadUserInputError } from '../../errors';
import type { RequestContext } from '../context';
import type { User } from '../types/user.type';

/** What `_entities` hands back: a User and the union member it is. */
type UserEntity = User & { __typename: 'User' };

/**
 * Any id is a valid User: an identity this subgraph has never seen has the default license. Loading
 * the license here (batched across the representations) applies the access rules even to `{ id }`, and
 * hands the view to the fields, which then resolve without waiting.
 */
export const userReferenceResolvers = {
  User: {
    async __resolveReference(reference: { id: string }, ctx: RequestContext): Promise<UserEntity> {
      return { __typename: 'User', id: reference.id, view: await ctx.loaders.license.load(reference.id) };
    },
  },
};

/**
 * `_entities`, in place of @apollo/subgraph's: User is the only entity here. Every representation is checked
 * first, and one that is not a User with an id refuses the whole request with one error (not one error, and
 * one log line, per representation), and so is a caller without a valid token. Each distinct id is resolved
 * once; repeats share its answer.
 */
export function resolveEntities(
  _source: unknown,
  { representations }: { representations: readonly unknown[] },
  ctx: RequestContext,
): Promise<UserEntity>[] {
  const ids = representations.map(userIdOf);
  // Every User field needs a token: without one, one error for the request rather than one per representation.
  assertAuthenticated(ctx.caller);
  const resolved = new Map<string, Promise<UserEntity>>();
  return ids.map((id) => {
    let user = resolved.get(id);
    if (!user) resolved.set(id, (user = userReferenceResolvers.User.__resolveReference({ id }, ctx)));
    return user;
  });
}

function userIdOf(representation: unknown): string {
  const { __typename, id } = (representation ?? {}) as { __typename?: unknown; id?: unknown };
  if (__typename !== 'User') {
    throw new BadUserInputError(
      'representations',
      'A representation is not a User: this subgraph resolves no other entity',
    );
  }
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new BadUserInputError('id', 'A User representation needs an id');
  }
  return String(id);
}
