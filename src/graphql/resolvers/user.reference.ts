import type { RequestContext } from '../context';
import type { User } from '../types/user.type';

/** What `_entities` hands back: a User and the union member it is. */
export type UserEntity = User & { __typename: 'User' };

/**
 * Any id is a valid User: an identity this subgraph has never seen has the default license. The access
 * rules apply even to `{ id }`: an invalid id, or one the caller may not read, is refused here. With
 * `withView` (a field reads the whole view) the view is loaded here, batched across the representations, and
 * the fields then resolve without waiting; without it (checks only), each check reads what it needs.
 */
export const userReferenceResolvers = {
  User: {
    async __resolveReference(
      reference: { id: string },
      ctx: RequestContext,
      withView: boolean,
    ): Promise<UserEntity> {
      if (withView)
        return { __typename: 'User', id: reference.id, view: await ctx.loaders.view(reference.id) };
      const problem = ctx.services.licenses.readProblem(ctx.caller, reference.id);
      if (problem) throw problem;
      return { __typename: 'User', id: reference.id };
    },
  },
};
