import {
  Arg,
  Args,
  Ctx,
  Directive,
  FieldResolver,
  Mutation,
  Resolver,
  Root,
  UseMiddleware,
} from 'type-graphql';

import { isOverrideActive } from '../../domain/effective';
import type { Override as OverrideValue } from '../../domain/types';
import type { RequestContext } from '../context';
import { REQUIRES_WRITE_SCOPE } from '../directives';
import { freshReadsAfterMutation } from '../fresh-reads';
import { RemoveOverrideArgs, SetOverrideInput } from '../inputs/override.inputs';
import { Feature } from '../types/catalog.types';
import { Override } from '../types/override.type';
import { User } from '../types/user.type';

@Resolver(() => Override)
export class OverrideResolver {
  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Override, { description: "Replaces the user's active override of that feature" })
  @UseMiddleware(freshReadsAfterMutation)
  setOverride(
    @Arg('input', () => SetOverrideInput) input: SetOverrideInput,
    @Ctx() ctx: RequestContext,
  ): Promise<OverrideValue> {
    return ctx.services.overrides.set(ctx.caller, input);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Override, { description: 'NOT_FOUND when none is active' })
  @UseMiddleware(freshReadsAfterMutation)
  removeOverride(
    @Args(() => RemoveOverrideArgs) { userId, feature, reason }: RemoveOverrideArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<OverrideValue> {
    return ctx.services.overrides.remove(ctx.caller, userId, feature, reason);
  }

  @FieldResolver(() => User)
  user(@Root() override: OverrideValue): User {
    return { id: override.userId };
  }

  @FieldResolver(() => Feature)
  async feature(@Root() override: OverrideValue, @Ctx() ctx: RequestContext): Promise<Feature> {
    // Features are never deleted, so a stored override always names one.
    return (await ctx.loaders.feature(override.featureKey)) as Feature;
  }

  @FieldResolver(() => Boolean, { description: 'Not removed, replaced or expired, now' })
  active(@Root() override: OverrideValue): boolean {
    return isOverrideActive(override, new Date());
  }
}
