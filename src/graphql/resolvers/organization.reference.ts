import type { RequestContext } from '../context';
import type { Organization } from '../types/organization.types';

/**
 * Any id is a valid Organization: one without a record has no license, seats or entitlements. The view is
 * loaded here (batched across representations), so the access rule applies even to `{ id }`.
 */
export const organizationReferenceResolvers = {
  Organization: {
    async __resolveReference(
      reference: { id: string },
      ctx: RequestContext,
    ): Promise<Organization & { __typename: 'Organization' }> {
      return {
        __typename: 'Organization',
        id: reference.id,
        view: await ctx.loaders.organization.load(reference.id),
      };
    },
  },
};
