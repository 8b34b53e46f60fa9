import { Arg, Args, Ctx, Directive, Mutation, Resolver, UseMiddleware } from 'type-graphql';

import type { Grant as GrantValue } from '../../domain/types';
import type { RequestContext } from '../context';
import { REQUIRES_WRITE_SCOPE } from '../directives';
import { freshReadsAfterMutation } from '../fresh-reads';
import { GrantEntitlementInput } from '../inputs/grant.input';
import {
  ChangeTierArgs,
  OptionalReasonArgs,
  RevokeEntitlementArgs,
  RevokeLicenseArgs,
  StartTrialArgs,
} from '../inputs/license.args';
import { Grant } from '../types/grant.type';
import { User } from '../types/user.type';

/** The admin mutations on one identity's license. Each returns the changed User or Grant. */
@Resolver()
@UseMiddleware(freshReadsAfterMutation)
export class LicenseResolver {
  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Grant)
  grantEntitlement(
    @Arg('input', () => GrantEntitlementInput) input: GrantEntitlementInput,
    @Ctx() ctx: RequestContext,
  ): Promise<GrantValue> {
    return ctx.services.licenses.grantEntitlement(ctx.caller, input);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Grant)
  revokeEntitlement(
    @Args(() => RevokeEntitlementArgs) { grantId, reason }: RevokeEntitlementArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<GrantValue> {
    return ctx.services.licenses.revokeEntitlement(ctx.caller, grantId, reason);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => User)
  async changeTier(
    @Args(() => ChangeTierArgs) { userId, tier, reason }: ChangeTierArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.changeTier(ctx.caller, userId, tier, reason);
    return { id: userId };
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => User)
  async startTrial(
    @Args(() => StartTrialArgs) { userId, tier, endsAt, reason }: StartTrialArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.startTrial(ctx.caller, userId, tier, endsAt, reason);
    return { id: userId };
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => User)
  async endTrial(
    @Args(() => OptionalReasonArgs) { userId, reason }: OptionalReasonArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.endTrial(ctx.caller, userId, reason);
    return { id: userId };
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => User)
  async revokeLicense(
    @Args(() => RevokeLicenseArgs) { userId, reason }: RevokeLicenseArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.revokeLicense(ctx.caller, userId, reason);
    return { id: userId };
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => User)
  async restoreLicense(
    @Args(() => OptionalReasonArgs) { userId, reason }: OptionalReasonArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<User> {
    await ctx.services.licenses.restoreLicense(ctx.caller, userId, reason);
    return { id: userId };
  }
}
