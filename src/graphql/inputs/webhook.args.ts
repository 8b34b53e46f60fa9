import { ArgsType, Field, ID, Int } from 'type-graphql';

import type { LicenseEventType as LicenseEventTypeValue } from '../../domain/types';
import { DEFAULT_PAGE_SIZE } from '../../domain/validation';
import { LicenseEventType } from '../types/enums';

@ArgsType()
export class CreateWebhookEndpointArgs {
  @Field(() => String)
  url!: string;

  @Field(() => [LicenseEventType], { nullable: true, description: 'Empty or omitted: every type' })
  eventTypes?: LicenseEventTypeValue[] | null;
}

@ArgsType()
export class WebhookDeliveriesArgs {
  @Field(() => ID)
  endpointId!: string;

  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
  first?: number | null;
}
