import { Arg, Args, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';

import type { WebhookDelivery as WebhookDeliveryValue } from '../../domain/types';
import type { CreatedWebhookEndpoint } from '../../services/webhook.service';
import type { RequestContext } from '../context';
import { REQUIRES_READ_SCOPE, REQUIRES_WRITE_SCOPE } from '../directives';
import { CreateWebhookEndpointArgs, WebhookDeliveriesArgs } from '../inputs/webhook.args';
import { WebhookDelivery, WebhookEndpoint, WebhookEndpointCreated } from '../types/webhook.types';

@Resolver()
export class WebhookResolver {
  @Directive(REQUIRES_READ_SCOPE)
  @Query(() => [WebhookEndpoint])
  webhookEndpoints(@Ctx() ctx: RequestContext): Promise<WebhookEndpoint[]> {
    return ctx.services.webhooks.list(ctx.caller);
  }

  @Directive(REQUIRES_READ_SCOPE)
  @Query(() => [WebhookDelivery], { description: "One endpoint's deliveries, newest first" })
  webhookDeliveries(
    @Args(() => WebhookDeliveriesArgs) args: WebhookDeliveriesArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<WebhookDeliveryValue[]> {
    return ctx.services.webhooks.deliveries(ctx.caller, args.endpointId, args.first ?? undefined);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => WebhookEndpointCreated)
  createWebhookEndpoint(
    @Args(() => CreateWebhookEndpointArgs) args: CreateWebhookEndpointArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<CreatedWebhookEndpoint> {
    return ctx.services.webhooks.create(ctx.caller, args);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Boolean)
  deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.webhooks.delete(ctx.caller, id);
  }
}
