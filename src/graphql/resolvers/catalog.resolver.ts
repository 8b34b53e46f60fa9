import { Arg, Ctx, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';

import type { RequestContext } from '../context';
import { freshReadsAfterMutation } from '../fresh-reads';
import { FeatureInput, TierInput } from '../inputs/catalog.inputs';
import { Feature, Tier } from '../types/catalog.types';

@Resolver()
export class CatalogResolver {
  @Query(() => [Feature])
  async features(@Ctx() ctx: RequestContext): Promise<Feature[]> {
    return [...(await ctx.loaders.catalog()).features.values()];
  }

  @Query(() => [Tier], { description: 'Every tier, lowest rank first' })
  async tiers(@Ctx() ctx: RequestContext): Promise<Tier[]> {
    return [...(await ctx.loaders.catalog()).tiers.values()];
  }

  @Mutation(() => Feature)
  @UseMiddleware(freshReadsAfterMutation)
  upsertFeature(
    @Arg('input', () => FeatureInput) input: FeatureInput,
    @Ctx() ctx: RequestContext,
  ): Promise<Feature> {
    return ctx.services.catalog.upsertFeature(ctx.caller, input);
  }

  @UseMiddleware(freshReadsAfterMutation)
  @Mutation(() => Tier, { description: 'Creates a tier or replaces it, with exactly the given entitlements' })
  upsertTier(@Arg('input', () => TierInput) input: TierInput, @Ctx() ctx: RequestContext): Promise<Tier> {
    return ctx.services.catalog.upsertTier(ctx.caller, input);
  }
}
