import type { RequestContext } from '../context';
import type { User } from '../types/user.type';

/** What `_entities` hands back: a User and the union member it is. */
export type UserEntity = User & { __typename: 'User' };

/**
 * Any id is a valid User: an identity this subgraph has never seen has the default license. The access
 * rules apply even to `{ id }`: an invalid id, or one the caller may not read, is refused here. Nothing is
 * read yet: the fields read (batched across the representations) what they need.
 */
export const userReferenceResolvers = {
  User: {
    // Not async: `_entities` has the entity at once, and its fields start reading in the same tick.
    __resolveReference(reference: { id: string }, ctx: RequestContext): Promise<UserEntity> {
      const problem = ctx.services.licenses.readProblem(ctx.caller, reference.id);
      return problem ? Promise.reject(problem) : Promise.resolve({ __typename: 'User', id: reference.id });
    },
  },
};
