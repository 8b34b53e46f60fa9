import { Args, Ctx, Directive, FieldResolver, Resolver, Root } from 'type-graphql';

import type { LicenseView } from '../../domain/effective';
import {
  allowsUse,
  entitlementIn,
  entitlementsOf,
  isOverrideActive,
  usageMeters,
} from '../../domain/effective';
import type {
  Entitlement as EntitlementValue,
  Override as OverrideValue,
  Seat as SeatValue,
} from '../../domain/types';
import { checkOrganizationId } from '../../domain/validation';
import type { RequestContext } from '../context';
import { AUTHENTICATED } from '../directives';
import { LicenseTokenArgs } from '../inputs/license-token.args';
import { FeatureArgs, OrganizationScopeArgs } from '../inputs/organization.inputs';
import { Tier } from '../types/catalog.types';
import { Entitlement, License, UsageMeter } from '../types/license.types';
import { LicenseToken } from '../types/license-token.type';
import { Seat } from '../types/organization.types';
import { Override } from '../types/override.type';
import { User } from '../types/user.type';

/** The licensing fields of User; each reads the user's batched license view, or (checks) what it needs of it. */
@Resolver(() => User)
export class UserResolver {
  @Directive(AUTHENTICATED)
  @FieldResolver(() => License)
  license(@Root() user: User, @Ctx() ctx: RequestContext): NowOrLoaded<LicenseView['license']> {
    return withView(user, ctx, (view) => view.license);
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Tier, { description: 'Effective tier now (the trial tier while a trial runs)' })
  tier(@Root() user: User, @Ctx() ctx: RequestContext): NowOrLoaded<Tier> {
    return withView(user, ctx, (view) => view.tier);
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => [Entitlement], {
    description:
      'Effective now, one per feature; empty when the license is revoked. With organizationId: only the own license and that organization count',
  })
  entitlements(
    @Root() user: User,
    @Args(() => OrganizationScopeArgs) { organizationId }: OrganizationScopeArgs,
    @Ctx() ctx: RequestContext,
  ): NowOrLoaded<Entitlement[]> {
    const organization = checked(organizationId);
    return withView(user, ctx, (view) => entitlementsOf(view, organization));
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Entitlement, { nullable: true, description: 'null when not entitled' })
  entitlement(
    @Root() user: User,
    @Args(() => FeatureArgs) { feature, organizationId }: FeatureArgs,
    @Ctx() ctx: RequestContext,
  ): NowOrLoaded<Entitlement | null> {
    return withEntitlement(user, ctx, feature, organizationId, (entitlement) => entitlement ?? null);
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Boolean, {
    description: 'May this identity use the feature now (for METERED: and is the period not exhausted)',
  })
  hasEntitlement(
    @Root() user: User,
    @Args(() => FeatureArgs) { feature, organizationId }: FeatureArgs,
    @Ctx() ctx: RequestContext,
  ): NowOrLoaded<boolean> {
    return withEntitlement(user, ctx, feature, organizationId, allowsUse);
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => [UsageMeter], {
    description: 'One per metered feature the user is entitled to; a pooled one per organization pool',
  })
  usage(
    @Root() user: User,
    @Args(() => OrganizationScopeArgs) { organizationId }: OrganizationScopeArgs,
    @Ctx() ctx: RequestContext,
  ): NowOrLoaded<UsageMeter[]> {
    return withView(user, ctx, (view) =>
      usageMeters(entitlementsOf(view, checked(organizationId)), view.now),
    );
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => LicenseToken, {
    description: 'The license as a signed token, for offline checks (the caller itself or entitlements:read)',
  })
  licenseToken(
    @Root() user: User,
    @Args(() => LicenseTokenArgs) args: LicenseTokenArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<LicenseToken> {
    // The claims read the same view as every other field, narrowed to one organization when asked (rule O3).
    return ctx.services.licenseTokens.issue(ctx.caller, user.id, args, async (organizationId) =>
      withView(user, ctx, (view) => ({ ...view, entitlements: entitlementsOf(view, organizationId) })),
    );
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => [Override], { description: 'The active overrides' })
  overrides(@Root() user: User, @Ctx() ctx: RequestContext): NowOrLoaded<OverrideValue[]> {
    return withView(user, ctx, (view) =>
      (view.state.overrides ?? []).filter((override) => isOverrideActive(override, view.now)),
    );
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => [Seat], { description: 'The organizations whose license this user holds a seat in' })
  seats(@Root() user: User, @Ctx() ctx: RequestContext): NowOrLoaded<SeatValue[]> {
    return withView(user, ctx, (view) => view.seats);
  }
}

function checked(organizationId: string | null | undefined): string | null {
  return organizationId === null || organizationId === undefined ? null : checkOrganizationId(organizationId);
}

/** At once when `_entities` brought the view along, else once the request's loader has read it. */
type NowOrLoaded<T> = T | Promise<T>;

/** From the view the User came with (`_entities`), else from the request's batched loader. */
function withView<T>(user: User, ctx: RequestContext, pick: (view: LicenseView) => T): NowOrLoaded<T> {
  return user.view ? pick(user.view) : ctx.loaders.view(user.id).then(pick);
}

/** A check of one feature: from the view the User came with, else reading only what the check needs. */
function withEntitlement<T>(
  user: User,
  ctx: RequestContext,
  feature: string,
  organizationId: string | null | undefined,
  pick: (entitlement: EntitlementValue | undefined) => T,
): NowOrLoaded<T> {
  const organization = checked(organizationId);
  return user.view
    ? pick(entitlementIn(user.view, feature, organization))
    : ctx.loaders.entitlement(user.id, feature, organization).then(pick);
}
