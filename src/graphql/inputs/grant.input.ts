import { Field, ID, InputType, Int } from 'type-graphql';

import type { JsonValue } from '../../domain/types';
import { DateTimeScalar, JSONScalar } from '../scalars';

/** What a grant gives, to a user or to an organization. */
@InputType('GrantDetailsInput')
export abstract class GrantDetailsInput {
  @Field(() => ID)
  feature!: string;

  @Field(() => Int, { nullable: true, description: 'METERED: added to the tier limit; null = unlimited' })
  limit?: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'CONFIG: overrides the tier value while active' })
  value?: JsonValue;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Defaults to now' })
  startsAt?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'null = no end' })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Retries with the same key and input return the first grant and grant nothing more (kept 24 hours)',
  })
  idempotencyKey?: string | null;
}

@InputType()
export class GrantEntitlementInput extends GrantDetailsInput {
  @Field(() => ID)
  userId!: string;
}
