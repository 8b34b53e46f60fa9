import { Arg, Args, Ctx, Directive, FieldResolver, ID, Resolver, Root } from 'type-graphql';

import type { LicenseView } from '../../domain/effective';
import { allowsUse, usageMeters } from '../../domain/effective';
import type { RequestContext } from '../context';
import { AUTHENTICATED } from '../directives';
import { LicenseTokenArgs } from '../inputs/license-token.args';
import { Tier } from '../types/catalog.types';
import { Entitlement, License, UsageMeter } from '../types/license.types';
import { LicenseToken } from '../types/license-token.type';
import { User } from '../types/user.type';

/** The licensing fields of User; every one reads the user's batched license view. */
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
    description: 'Effective now, one per feature; empty when the license is revoked',
  })
  entitlements(@Root() user: User, @Ctx() ctx: RequestContext): NowOrLoaded<Entitlement[]> {
    return withView(user, ctx, (view) => view.entitlements);
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Entitlement, { nullable: true, description: 'null when not entitled' })
  entitlement(
    @Root() user: User,
    @Arg('feature', () => ID) feature: string,
    @Ctx() ctx: RequestContext,
  ): NowOrLoaded<Entitlement | null> {
    return withView(user, ctx, (view) => view.entitlements.find((e) => e.feature.key === feature) ?? null);
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Boolean, {
    description: 'May this identity use the feature now (for METERED: and is the period not exhausted)',
  })
  hasEntitlement(
    @Root() user: User,
    @Arg('feature', () => ID) feature: string,
    @Ctx() ctx: RequestContext,
  ): NowOrLoaded<boolean> {
    return withView(user, ctx, (view) => allowsUse(view.entitlements.find((e) => e.feature.key === feature)));
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => [UsageMeter], { description: 'One per metered feature the user is entitled to' })
  usage(@Root() user: User, @Ctx() ctx: RequestContext): NowOrLoaded<UsageMeter[]> {
    return withView(user, ctx, (view) => usageMeters(view.entitlements, view.now));
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
    // organizationId is validated and handed on; issue 15 makes the view below the organization's.
    return ctx.services.licenseTokens.issue(ctx.caller, user.id, args, async (_organizationId) =>
      withView(user, ctx, (view) => view),
    );
  }
}

/** At once when `_entities` brought the view along, else once the request's loader has read it. */
type NowOrLoaded<T> = T | Promise<T>;

/** From the view the User came with (`_entities`), else from the request's batched loader. */
function withView<T>(user: User, ctx: RequestContext, pick: (view: LicenseView) => T): NowOrLoaded<T> {
  return user.view ? pick(user.view) : ctx.loaders.license.load(user.id).then(pick);
}
