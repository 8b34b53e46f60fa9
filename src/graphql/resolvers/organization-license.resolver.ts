import { Arg, Args, Ctx, Directive, Mutation, Resolver, UseMiddleware } from 'type-graphql';

import type { Grant as GrantValue, Seat as SeatValue } from '../../domain/types';
import type { RequestContext } from '../context';
import { REQUIRES_WRITE_SCOPE } from '../directives';
import { freshReadsAfterMutation } from '../fresh-reads';
import {
  GrantOrganizationEntitlementInput,
  OptionalOrganizationReasonArgs,
  OrganizationLicenseInput,
  RevokeOrganizationLicenseArgs,
  SeatArgs,
} from '../inputs/organization.inputs';
import { Grant } from '../types/grant.type';
import { Organization, Seat } from '../types/organization.types';

/** The admin mutations on an organization's license and seats. */
@Resolver()
@UseMiddleware(freshReadsAfterMutation)
export class OrganizationLicenseMutations {
  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Organization, { description: 'Creates the license or sets its tier and seat limit' })
  async setOrganizationLicense(
    @Arg('input', () => OrganizationLicenseInput) input: OrganizationLicenseInput,
    @Ctx() ctx: RequestContext,
  ): Promise<Organization> {
    await ctx.services.organizations.setLicense(ctx.caller, input);
    return { id: input.organizationId };
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Organization)
  async revokeOrganizationLicense(
    @Args(() => RevokeOrganizationLicenseArgs) { organizationId, reason }: RevokeOrganizationLicenseArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<Organization> {
    await ctx.services.organizations.revokeLicense(ctx.caller, organizationId, reason);
    return { id: organizationId };
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Organization)
  async restoreOrganizationLicense(
    @Args(() => OptionalOrganizationReasonArgs) { organizationId, reason }: OptionalOrganizationReasonArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<Organization> {
    await ctx.services.organizations.restoreLicense(ctx.caller, organizationId, reason);
    return { id: organizationId };
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Seat, {
    description: 'Atomic against the seat limit; a seat already held comes back unchanged',
  })
  assignSeat(
    @Args(() => SeatArgs) { organizationId, userId, reason }: SeatArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<SeatValue> {
    return ctx.services.organizations.assignSeat(ctx.caller, organizationId, userId, reason);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Seat)
  unassignSeat(
    @Args(() => SeatArgs) { organizationId, userId, reason }: SeatArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<SeatValue> {
    return ctx.services.organizations.unassignSeat(ctx.caller, organizationId, userId, reason);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Grant, {
    description: 'A grant to every seat holder of the organization; revokeEntitlement revokes it',
  })
  grantOrganizationEntitlement(
    @Arg('input', () => GrantOrganizationEntitlementInput) input: GrantOrganizationEntitlementInput,
    @Ctx() ctx: RequestContext,
  ): Promise<GrantValue> {
    return ctx.services.licenses.grantOrganizationEntitlement(ctx.caller, input);
  }
}
