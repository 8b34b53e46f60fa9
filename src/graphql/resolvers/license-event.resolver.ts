import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';

import type { LicenseEvent as LicenseEventValue, Grant as GrantValue } from '../../domain/types';
import type { LicenseEventPage as LicenseEventPageValue } from '../../services/license-event.service';
import type { RequestContext } from '../context';
import { Feature, Tier } from '../types/catalog.types';
import { Grant } from '../types/grant.type';
import { LicenseEvent, LicenseEventPage } from '../types/license-event.type';
import { User } from '../types/user.type';

@Resolver(() => LicenseEvent)
export class LicenseEventResolver {
  @Query(() => LicenseEventPage, { description: 'The audit trail, oldest first' })
  licenseEvents(
    @Arg('userId', () => ID, { nullable: true }) userId: string | null,
    @Arg('after', () => ID, { nullable: true }) after: string | null,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Ctx() ctx: RequestContext,
  ): Promise<LicenseEventPageValue> {
    return ctx.services.events.page(ctx.caller, { userId, after, first });
  }

  @FieldResolver(() => User)
  user(@Root() event: LicenseEventValue): User {
    return { id: event.userId };
  }

  @FieldResolver(() => Feature, { nullable: true })
  feature(@Root() event: LicenseEventValue, @Ctx() ctx: RequestContext): Promise<Feature | null> | null {
    return event.featureKey === null ? null : ctx.loaders.feature(event.featureKey);
  }

  @FieldResolver(() => Grant, { nullable: true })
  grant(@Root() event: LicenseEventValue, @Ctx() ctx: RequestContext): Promise<GrantValue | null> | null {
    return event.grantId === null ? null : ctx.loaders.grant.load(event.grantId);
  }

  @FieldResolver(() => Tier, { nullable: true })
  fromTier(@Root() event: LicenseEventValue, @Ctx() ctx: RequestContext): Promise<Tier> | null {
    return event.fromTierKey === null ? null : ctx.loaders.tier(event.fromTierKey);
  }

  @FieldResolver(() => Tier, { nullable: true })
  toTier(@Root() event: LicenseEventValue, @Ctx() ctx: RequestContext): Promise<Tier> | null {
    return event.toTierKey === null ? null : ctx.loaders.tier(event.toTierKey);
  }
}
