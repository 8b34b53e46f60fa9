import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';

import { isGrantActive } from '../../domain/effective';
import type { Grant as GrantValue } from '../../domain/types';
import type { RequestContext } from '../context';
import { Feature } from '../types/catalog.types';
import { Grant } from '../types/grant.type';
import { Organization } from '../types/organization.types';
import { User } from '../types/user.type';

@Resolver(() => Grant)
export class GrantResolver {
  @FieldResolver(() => User, { nullable: true, description: "null for an organization's grant" })
  user(@Root() grant: GrantValue): User | null {
    return grant.userId === null ? null : { id: grant.userId };
  }

  @FieldResolver(() => Organization, { nullable: true, description: "Set on an organization's grant" })
  organization(@Root() grant: GrantValue): Organization | null {
    return grant.organizationId === null ? null : { id: grant.organizationId };
  }

  @FieldResolver(() => Feature)
  async feature(@Root() grant: GrantValue, @Ctx() ctx: RequestContext): Promise<Feature> {
    // Features are never deleted, so a stored grant always names one.
    return (await ctx.loaders.feature(grant.featureKey)) as Feature;
  }

  @FieldResolver(() => Boolean, { description: 'Started, not expired and not revoked, now' })
  active(@Root() grant: GrantValue): boolean {
    return isGrantActive(grant, new Date());
  }
}
