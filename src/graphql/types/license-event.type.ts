import { Field, ID, Int, ObjectType } from 'type-graphql';

import type { LicenseEventType as LicenseEventTypeValue } from '../../domain/types';
import { DateTimeScalar } from '../scalars';
import { LicenseEventType } from './enums';

/** One entry of the audit trail. `user`, `feature`, `grant` and the tiers are resolved in LicenseEventResolver. */
@ObjectType()
export class LicenseEvent {
  @Field(() => ID, { description: 'Strictly increasing; the cursor for `after`' })
  id!: string;

  @Field(() => LicenseEventType)
  type!: LicenseEventTypeValue;

  @Field(() => String, { description: '`sub` of the caller, or "system" for expiries' })
  actor!: string;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => Int, {
    nullable: true,
    description: 'USAGE_THRESHOLD_REACHED: the percentage of the limit reached',
  })
  threshold!: number | null;

  @Field(() => DateTimeScalar)
  occurredAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class LicenseEventPage {
  @Field(() => [LicenseEvent])
  events!: LicenseEvent[];

  @Field(() => ID, { nullable: true })
  endCursor!: string | null;

  @Field(() => Boolean)
  hasMore!: boolean;
}
