import { Field, ID, Int, ObjectType } from 'type-graphql';

import type {
  FeatureKind as FeatureKindValue,
  JsonValue,
  MeterScope as MeterScopeValue,
  UsagePeriod as UsagePeriodValue,
} from '../../domain/types';
import { JSONScalar } from '../scalars';
import { FeatureKind, MeterScope, UsagePeriod } from './enums';

@ObjectType({
  simpleResolvers: true,
  description: 'Something a license can include: a permission or flag, a metered quota, a config value',
})
export class Feature {
  @Field(() => ID)
  key!: string;

  @Field(() => FeatureKind)
  kind!: FeatureKindValue;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => UsagePeriod)
  usagePeriod!: UsagePeriodValue;

  @Field(() => MeterScope, { description: 'METERED: one counter per user, or one pooled per organization' })
  meterScope!: MeterScopeValue;

  @Field(() => [Int], {
    description: 'Percentages of the limit whose crossing raises USAGE_THRESHOLD_REACHED',
  })
  alertThresholds!: number[];
}

@ObjectType({ simpleResolvers: true })
export class TierEntitlement {
  @Field(() => Feature)
  feature!: Feature;

  @Field(() => Int, { nullable: true, description: 'METERED: per period; null = unlimited' })
  limit!: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'CONFIG: the value' })
  value!: JsonValue;
}

@ObjectType({ simpleResolvers: true })
export class Tier {
  @Field(() => ID)
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { description: 'Orders tiers: a higher rank is an upgrade' })
  rank!: number;

  @Field(() => [TierEntitlement])
  entitlements!: TierEntitlement[];
}
