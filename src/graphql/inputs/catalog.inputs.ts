import { Field, ID, InputType, Int } from 'type-graphql';

import type {
  FeatureKind as FeatureKindValue,
  JsonValue,
  MeterScope as MeterScopeValue,
  UsagePeriod as UsagePeriodValue,
} from '../../domain/types';
import { JSONScalar } from '../scalars';
import { FeatureKind, MeterScope, UsagePeriod } from '../types/enums';

@InputType()
export class FeatureInput {
  @Field(() => ID)
  key!: string;

  @Field(() => FeatureKind)
  kind!: FeatureKindValue;

  @Field(() => String, { nullable: true, description: 'Omitted: unchanged; null: none' })
  description?: string | null;

  @Field(() => UsagePeriod, { nullable: true, description: 'Omitted: unchanged (MONTH for a new feature)' })
  usagePeriod?: UsagePeriodValue | null;

  @Field(() => MeterScope, {
    nullable: true,
    description:
      'METERED: count per user or in organization pools. Omitted: unchanged (USER for a new feature)',
  })
  meterScope?: MeterScopeValue | null;

  @Field(() => [Int], {
    nullable: true,
    description:
      'METERED: percentages of the limit (1 to 99, unique, at most 10). Omitted: unchanged (none for a new feature)',
  })
  alertThresholds?: number[] | null;
}

@InputType()
export class TierEntitlementInput {
  @Field(() => ID)
  feature!: string;

  @Field(() => Int, { nullable: true })
  limit?: number | null;

  @Field(() => JSONScalar, { nullable: true })
  value?: JsonValue;
}

@InputType()
export class TierInput {
  @Field(() => ID)
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int)
  rank!: number;

  @Field(() => [TierEntitlementInput])
  entitlements!: TierEntitlementInput[];
}
