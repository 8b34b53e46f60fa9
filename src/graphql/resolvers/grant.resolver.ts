import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';

import { isGrantActive } from '../../domain/effective';
import type { Grant as GrantValue } from '../../domain/types';
import type { RequestContext } from '../context';
import { Feature } from '../types/catalog.types';
import { Grant } from '../types/grant.type';
import { User } from '../types/user.type';

@Resolver(() => Grant)
export class GrantResolver {
  @FieldResolver(() => User)
  user(@Root() grant: GrantValue): User {
    return { id: grant.userId };
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
