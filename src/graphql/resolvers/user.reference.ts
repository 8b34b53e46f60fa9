import type { RequestContext } from '../context';
import type { User } from '../types/user.type';

/** What `_entities` hands back: a User and the union member it is. */
export type UserEntity = User & { __typename: 'User' };

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
