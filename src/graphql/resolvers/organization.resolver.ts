import { Args, Ctx, Directive, FieldResolver, Int, Resolver, Root } from 'type-graphql';

import { usageMeters } from '../../domain/effective';
import type { OrganizationLicense as OrganizationLicenseValue, Seat as SeatValue } from '../../domain/types';
import type { OrganizationView, SeatPage as SeatPageValue } from '../../services/organization.service';
import type { RequestContext } from '../context';
import { REQUIRES_READ_SCOPE } from '../directives';
import { SeatPageArgs } from '../inputs/organization.inputs';
import { Tier } from '../types/catalog.types';
import { Entitlement, UsageMeter } from '../types/license.types';
import { Organization, OrganizationLicense, Seat, SeatPage } from '../types/organization.types';
import { User } from '../types/user.type';

/** The licensing fields of Organization; they need entitlements:read and read the organization's batched view. */
@Resolver(() => Organization)
export class OrganizationResolver {
  @Directive(REQUIRES_READ_SCOPE)
  @FieldResolver(() => OrganizationLicense, {
    nullable: true,
    description: 'null until setOrganizationLicense',
  })
  async license(
    @Root() organization: Organization,
    @Ctx() ctx: RequestContext,
  ): Promise<OrganizationLicenseValue | null> {
    return (await viewOf(organization, ctx)).license;
  }

  @Directive(REQUIRES_READ_SCOPE)
  @FieldResolver(() => SeatPage, { description: 'Seats held now, oldest first' })
  seats(
    @Root() organization: Organization,
    @Args(() => SeatPageArgs) page: SeatPageArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<SeatPageValue> {
    return ctx.loaders.seatPage.load({
      organizationId: organization.id,
      first: page.first,
      after: page.after,
    });
  }

  @Directive(REQUIRES_READ_SCOPE)
  @FieldResolver(() => [Entitlement], { description: 'What one seat gives now; empty while revoked' })
  async entitlements(@Root() organization: Organization, @Ctx() ctx: RequestContext): Promise<Entitlement[]> {
    return (await viewOf(organization, ctx)).entitlements;
  }

  @Directive(REQUIRES_READ_SCOPE)
  @FieldResolver(() => [UsageMeter], { description: "The organization's pooled meters" })
  async usage(@Root() organization: Organization, @Ctx() ctx: RequestContext): Promise<UsageMeter[]> {
    const view = await viewOf(organization, ctx);
    return usageMeters(
      view.entitlements.filter((entitlement) => entitlement.pools.length > 0),
      view.now,
    );
  }
}

@Resolver(() => OrganizationLicense)
export class OrganizationLicenseResolver {
  @FieldResolver(() => Tier)
  tier(@Root() license: OrganizationLicenseValue, @Ctx() ctx: RequestContext): Promise<Tier> {
    return ctx.loaders.tier(license.tierKey);
  }

  @FieldResolver(() => Int, { nullable: true })
  seatsAvailable(@Root() license: OrganizationLicenseValue): number | null {
    return license.seatLimit === null ? null : Math.max(0, license.seatLimit - license.seatsUsed);
  }
}

@Resolver(() => Seat)
export class SeatResolver {
  @FieldResolver(() => Organization)
  organization(@Root() seat: SeatValue): Organization {
    return { id: seat.organizationId };
  }

  @FieldResolver(() => User)
  user(@Root() seat: SeatValue): User {
    return { id: seat.userId };
  }
}

function viewOf(
  organization: Organization,
  ctx: RequestContext,
): Promise<OrganizationView> | OrganizationView {
  return organization.view ?? ctx.loaders.organization.load(organization.id);
}
