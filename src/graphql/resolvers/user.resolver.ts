import { Arg, Ctx, Directive, FieldResolver, ID, Resolver, Root } from 'type-graphql';

import { allowsUse } from '../../domain/effective';
import type { LicenseView } from '../../domain/effective';
import type { RequestContext } from '../context';
import { AUTHENTICATED } from '../directives';
import { Tier } from '../types/catalog.types';
import { Entitlement, License, UsageMeter } from '../types/license.types';
import { User } from '../types/user.type';

/** The licensing fields of User; every one reads the user's batched license view. */
@Resolver(() => User)
export class UserResolver {
  @Directive(AUTHENTICATED)
  @FieldResolver(() => License)
  async license(@Root() user: User, @Ctx() ctx: RequestContext): Promise<LicenseView['license']> {
    return (await view(user, ctx)).license;
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Tier, { description: 'Effective tier now (the trial tier while a trial runs)' })
  async tier(@Root() user: User, @Ctx() ctx: RequestContext): Promise<Tier> {
    return (await view(user, ctx)).tier;
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => [Entitlement], {
    description: 'Effective now, one per feature; empty when the license is revoked',
  })
  async entitlements(@Root() user: User, @Ctx() ctx: RequestContext): Promise<Entitlement[]> {
    return (await view(user, ctx)).entitlements;
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Entitlement, { nullable: true, description: 'null when not entitled' })
  async entitlement(
    @Root() user: User,
    @Arg('feature', () => ID) feature: string,
    @Ctx() ctx: RequestContext,
  ): Promise<Entitlement | null> {
    return (await view(user, ctx)).entitlements.find((e) => e.feature.key === feature) ?? null;
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => Boolean, {
    description: 'May this identity use the feature now (for METERED: and is the period not exhausted)',
  })
  async hasEntitlement(
    @Root() user: User,
    @Arg('feature', () => ID) feature: string,
    @Ctx() ctx: RequestContext,
  ): Promise<boolean> {
    return allowsUse((await view(user, ctx)).entitlements.find((e) => e.feature.key === feature));
  }

  @Directive(AUTHENTICATED)
  @FieldResolver(() => [UsageMeter], { description: 'One per metered feature the user is entitled to' })
  async usage(@Root() user: User, @Ctx() ctx: RequestContext): Promise<UsageMeter[]> {
    return (await view(user, ctx)).usage;
  }
}

const view = (user: User, ctx: RequestContext) => ctx.loaders.license.load(user.id);
