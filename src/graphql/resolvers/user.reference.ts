import { BadUserInputError } from '../../errors';
import type { RequestContext } from '../context';
import type { User } from '../types/user.type';

/**
 * Any id is a valid User: an identity this subgraph has never seen has the default license. Loading
 * the license here (batched across the representations) applies the access rules even to `{ id }`, and
 * hands the view to the fields, which then resolve without waiting.
 */
export const userReferenceResolvers = {
  User: {
    async __resolveReference(reference: { id?: unknown }, ctx: RequestContext): Promise<User> {
      if (typeof reference.id !== 'string' && typeof reference.id !== 'number') {
        throw new BadUserInputError('id', 'A User representation needs an id');
      }
      const id = String(reference.id);
      return { id, view: await ctx.loaders.license.load(id) };
    },
  },
};
