import { Arg, Ctx, Directive, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';

import type { RequestContext } from '../context';
import { AUTHENTICATED, REQUIRES_WRITE_SCOPE } from '../directives';
import { freshReadsAfterMutation } from '../fresh-reads';
import { FeatureInput, TierInput } from '../inputs/catalog.inputs';
import { Feature, Tier } from '../types/catalog.types';

@Resolver()
export class CatalogResolver {
  @Directive(AUTHENTICATED)
  @Query(() => [Feature])
  async features(@Ctx() ctx: RequestContext): Promise<Feature[]> {
    return [...(await ctx.loaders.catalog()).features.values()];
  }

  @Directive(AUTHENTICATED)
  @Query(() => [Tier], { description: 'Every tier, lowest rank first' })
  async tiers(@Ctx() ctx: RequestContext): Promise<Tier[]> {
    return [...(await ctx.loaders.catalog()).tiers.values()];
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Feature)
  @UseMiddleware(freshReadsAfterMutation)
  upsertFeature(
    @Arg('input', () => FeatureInput) input: FeatureInput,
    @Ctx() ctx: RequestContext,
  ): Promise<Feature> {
    return ctx.services.catalog.upsertFeature(ctx.caller, input);
  }

  @UseMiddleware(freshReadsAfterMutation)
  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Tier, { description: 'Creates a tier or replaces it, with exactly the given entitlements' })
  upsertTier(@Arg('input', () => TierInput) input: TierInput, @Ctx() ctx: RequestContext): Promise<Tier> {
    return ctx.services.catalog.upsertTier(ctx.caller, input);
  }
}
