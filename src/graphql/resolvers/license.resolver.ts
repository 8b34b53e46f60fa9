import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';

import type { Grant as GrantValue } from '../../domain/types';
import type { RequestContext } from '../context';
import { GrantEntitlementInput } from '../inputs/grant.input';
import { DateTimeScalar } from '../scalars';
import { Grant } from '../types/grant.type';
import { User } from '../types/user.type';

/** The admin mutations on one identity's license. Each returns the changed User or Grant. */
@Resolver()
export class LicenseResolver {
  @Mutation(() => Grant)
  grantEntitlement(
    @Arg('input', () => GrantEntitlementInput) input: GrantEntitlementInput,
    @Ctx() ctx: RequestContext,
  ): Promise<GrantValue> {
    return ctx.services.licenses.grantEntitlement(ctx.caller, input);
  }

  @Mutation(() => Grant)
  revokeEntitlement(
    @Arg('grantId', () => ID) grantId: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<GrantValue> {
    return ctx.services.licenses.revokeEntitlement(ctx.caller, grantId, reason);
  }

  @Mutation(() => User)
  async changeTier(
    @Arg('userId', () => ID) userId: string,
    @Arg('tier', () => ID) tier: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.changeTier(ctx.caller, userId, tier, reason);
    return { id: userId };
  }

  @Mutation(() => User)
  async startTrial(
    @Arg('userId', () => ID) userId: string,
    @Arg('tier', () => ID) tier: string,
    @Arg('endsAt', () => DateTimeScalar) endsAt: Date,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.startTrial(ctx.caller, userId, tier, endsAt, reason);
    return { id: userId };
  }

  @Mutation(() => User)
  async endTrial(
    @Arg('userId', () => ID) userId: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.endTrial(ctx.caller, userId, reason);
    return { id: userId };
  }

  @Mutation(() => User)
  async revokeLicense(
    @Arg('userId', () => ID) userId: string,
    @Arg('reason', () => String) reason: string,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.revokeLicense(ctx.caller, userId, reason);
    return { id: userId };
  }

  @Mutation(() => User)
  async restoreLicense(
    @Arg('userId', () => ID) userId: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.restoreLicense(ctx.caller, userId, reason);
    return { id: userId };
  }
}
