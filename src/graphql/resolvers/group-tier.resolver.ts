import {
  Args,
  Ctx,
  Directive,
  FieldResolver,
  Mutation,
  Query,
  Resolver,
  Root,
  UseMiddleware,
} from 'type-graphql';

import type { GroupTierMapping } from '../../services/group-tier.service';
import type { RequestContext } from '../context';
import { REQUIRES_READ_SCOPE, REQUIRES_WRITE_SCOPE } from '../directives';
import { freshReadsAfterMutation } from '../fresh-reads';
import { SetGroupTierArgs } from '../inputs/scim.args';
import { Tier } from '../types/catalog.types';
import { GroupTier } from '../types/scim.types';

/** Tiers from SCIM groups (rule S4): the mappings, and setGroupTier. */
@Resolver(() => GroupTier)
export class GroupTierResolver {
  @Directive(REQUIRES_READ_SCOPE)
  @Query(() => [GroupTier], { description: 'Every group name mapped to a tier, by name' })
  groupTiers(@Ctx() ctx: RequestContext): Promise<GroupTierMapping[]> {
    return ctx.services.groupTiers.list(ctx.caller);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @UseMiddleware(freshReadsAfterMutation)
  @Mutation(() => Boolean, {
    description:
      "Members of the identity directory's SCIM group so named (any case) have this tier as one more source of their entitlements; null removes the mapping. Applies at once.",
  })
  setGroupTier(
    @Args(() => SetGroupTierArgs) { group, tier }: SetGroupTierArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<boolean> {
    return ctx.services.groupTiers.set(ctx.caller, group, tier);
  }

  @FieldResolver(() => Tier)
  tier(@Root() mapping: GroupTierMapping, @Ctx() ctx: RequestContext): Promise<Tier> {
    return ctx.loaders.tier(mapping.tierKey);
  }
}
