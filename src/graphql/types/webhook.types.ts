import { Field, ID, Int, ObjectType } from 'type-graphql';

import type {
  DeliveryStatus as DeliveryStatusValue,
  LicenseEventType as LicenseEventTypeValue,
} from '../../domain/types';
import { DateTimeScalar } from '../scalars';
import { DeliveryStatus, LicenseEventType } from './enums';
import { LicenseEvent } from './license-event.type';

@ObjectType({
  simpleResolvers: true,
  description: 'Where license events are POSTed, signed the Standard Webhooks way',
})
export class WebhookEndpoint {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [LicenseEventType], { description: 'Empty: every type' })
  eventTypes!: LicenseEventTypeValue[];

  @Field(() => Boolean, { description: 'False once the receiver answered 410 Gone' })
  enabled!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class WebhookEndpointCreated {
  @Field(() => WebhookEndpoint)
  endpoint!: WebhookEndpoint;

  @Field(() => String, { description: 'The signing secret (whsec_...); shown only here, once' })
  secret!: string;
}

@ObjectType({ simpleResolvers: true, description: 'One event on its way to one endpoint' })
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field(() => LicenseEvent)
  event!: LicenseEvent;

  @Field(() => DeliveryStatus)
  status!: DeliveryStatusValue;

  @Field(() => Int)
  attempts!: number;

  @Field(() => Int, { nullable: true })
  lastStatusCode!: number | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the next attempt is due, while PENDING' })
  nextAttemptAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  deliveredAt!: Date | null;
}
