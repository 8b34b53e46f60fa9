import type { User } from '../types/user.type';

/**
 * Any id is a valid User: an identity this subgraph has never seen has the default license, so the
 * reference is returned as is and the fields load it through the per-request loader.
 */
export const userReferenceResolvers = {
  User: {
    __resolveReference: (reference: { id: string }): User => ({ id: reference.id }),
  },
};
