import type { SubscribeResolverData } from 'type-graphql';
import { Args, ArgsType, Ctx, Directive, Field, ID, Resolver, Root, Subscription } from 'type-graphql';

import { eventFilterFor } from '../../auth/access';
import type { AccessChange } from '../../domain/access-change';
import type { LicenseEvent as LicenseEventValue } from '../../domain/types';
import { checkCursor } from '../../domain/validation';
import type { DeliveredEvent } from '../../events/event-reader';
import { eventStream } from '../../events/event-stream';
import type { RequestContext } from '../context';
import { AUTHENTICATED } from '../directives';
import { LicenseEvent } from '../types/license-event.type';

@ArgsType()
class UserStreamArgs {
  @Field(() => ID, {
    nullable: true,
    description:
      "Omitted: the caller's own events, or everyone's for a token with entitlements:read. A user's stream includes the events of the organizations where it holds a seat",
  })
  userId?: string | null;
}

@ArgsType()
class LicenseEventStreamArgs extends UserStreamArgs {
  @Field(() => ID, {
    nullable: true,
    description: "One organization's events (its own and its seats'); needs entitlements:read",
  })
  organizationId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Replay the stored events after this id first, then go on live',
  })
  after?: string | null;
}

/** Starts one subscription's stream, after the access check; `access` narrows it to gains or losses. */
function subscribe(access: AccessChange | null) {
  return ({
    args,
    context,
  }: SubscribeResolverData<
    unknown,
    Record<string, unknown>,
    RequestContext
  >): AsyncIterable<DeliveredEvent> => {
    const filter = eventFilterFor(
      context.caller,
      args as { userId?: string | null; organizationId?: string | null },
    );
    const after = args.after === null || args.after === undefined ? null : checkCursor(args.after as string);
    return eventStream(context.feed, {
      filter,
      after,
      accepts: (delivered) => access === null || delivered.access === access,
      endsAt: context.caller.expiresAt,
    });
  };
}

/**
 * Each payload is resolved with fresh loaders (a subscription lives longer than one read), primed with
 * what delivery read once for every subscriber.
 */
function eventOf(delivered: DeliveredEvent, ctx: RequestContext): LicenseEventValue {
  ctx.loaders.useDelivered(delivered.catalog, delivered.grant);
  return delivered.event;
}

@Resolver()
export class SubscriptionResolver {
  @Directive(AUTHENTICATED)
  @Subscription(() => LicenseEvent, {
    subscribe: subscribe(null),
    description: 'Every type of license event',
  })
  licenseEvents(
    @Root() delivered: DeliveredEvent,
    @Args(() => LicenseEventStreamArgs) _args: LicenseEventStreamArgs,
    @Ctx() ctx: RequestContext,
  ): LicenseEventValue {
    return eventOf(delivered, ctx);
  }

  @Directive(AUTHENTICATED)
  @Subscription(() => LicenseEvent, {
    subscribe: subscribe('GAINED'),
    description: 'Access gained: GRANTED, TRIAL_STARTED, LICENSE_RESTORED, TIER_CHANGED upward',
  })
  entitlementGranted(
    @Root() delivered: DeliveredEvent,
    @Args(() => UserStreamArgs) _args: UserStreamArgs,
    @Ctx() ctx: RequestContext,
  ): LicenseEventValue {
    return eventOf(delivered, ctx);
  }

  @Directive(AUTHENTICATED)
  @Subscription(() => LicenseEvent, {
    subscribe: subscribe('LOST'),
    description: 'Access lost: REVOKED, EXPIRED, TRIAL_ENDED, LICENSE_REVOKED, TIER_CHANGED downward',
  })
  entitlementRevoked(
    @Root() delivered: DeliveredEvent,
    @Args(() => UserStreamArgs) _args: UserStreamArgs,
    @Ctx() ctx: RequestContext,
  ): LicenseEventValue {
    return eventOf(delivered, ctx);
  }
}
