import { Args, Ctx, Directive, FieldResolver, Query, Resolver, Root } from 'type-graphql';

import type { Grant as GrantValue, LicenseEvent as LicenseEventValue } from '../../domain/types';
import type { LicenseEventPage as LicenseEventPageValue } from '../../services/license-event.service';
import type { RequestContext } from '../context';
import { AUTHENTICATED } from '../directives';
import { LicenseEventsArgs } from '../inputs/license.args';
import { Feature, Tier } from '../types/catalog.types';
import { Grant } from '../types/grant.type';
import { LicenseEvent, LicenseEventPage } from '../types/license-event.type';
import { Organization } from '../types/organization.types';
import { User } from '../types/user.type';

@Resolver(() => LicenseEvent)
export class LicenseEventResolver {
  @Directive(AUTHENTICATED)
  @Query(() => LicenseEventPage, { description: 'The audit trail, oldest first' })
  licenseEvents(
    @Args(() => LicenseEventsArgs) args: LicenseEventsArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<LicenseEventPageValue> {
    return ctx.services.licenseEventLog.page(ctx.caller, args);
  }

  @FieldResolver(() => User, { nullable: true, description: "null on an organization's event (but SEAT_*)" })
  user(@Root() event: LicenseEventValue): User | null {
    return event.userId === null ? null : { id: event.userId };
  }

  @FieldResolver(() => Organization, { nullable: true })
  organization(@Root() event: LicenseEventValue): Organization | null {
    return event.organizationId === null ? null : { id: event.organizationId };
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
