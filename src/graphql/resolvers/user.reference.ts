import type { RequestContext } from '../context';
import type { User } from '../types/user.type';

/**
 * Any id is a valid User: an identity this subgraph has never seen has the default license. Loading
 * the license here (batched with the fields that follow) applies the access rules even to `{ id }`.
 */
export const userReferenceResolvers = {
  User: {
    async __resolveReference(reference: { id: string }, ctx: RequestContext): Promise<User> {
      await ctx.loaders.license.load(reference.id);
      return { id: reference.id };
    },
  },
};
