import { Field, Int, ObjectType } from 'type-graphql';

import type {
  EntitlementSource as EntitlementSourceValue,
  JsonValue,
  LicenseStatus as LicenseStatusValue,
  Override as OverrideValue,
} from '../../domain/types';
import { DateTimeScalar, JSONScalar } from '../scalars';
import { Feature, Tier } from './catalog.types';
import { EntitlementSource, LicenseStatus } from './enums';
import { Grant } from './grant.type';
import { Override } from './override.type';

@ObjectType({ simpleResolvers: true })
export class Trial {
  @Field(() => Tier)
  tier!: Tier;

  @Field(() => DateTimeScalar)
  startedAt!: Date;

  @Field(() => DateTimeScalar)
  endsAt!: Date;

  @Field(() => Boolean)
  active!: boolean;
}

@ObjectType({ simpleResolvers: true })
export class License {
  @Field(() => LicenseStatus)
  status!: LicenseStatusValue;

  @Field(() => Tier)
  baseTier!: Tier;

  @Field(() => Trial, { nullable: true })
  trial!: Trial | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => String, { nullable: true })
  revokeReason!: string | null;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'What the identity may use of one feature now' })
export class Entitlement {
  @Field(() => Feature)
  feature!: Feature;

  @Field(() => EntitlementSource, {
    description: 'GRANT when an active grant contributes, else TRIAL or TIER',
  })
  source!: EntitlementSourceValue;

  @Field(() => [Grant], { description: 'The active grants that contribute' })
  grants!: Grant[];

  @Field(() => Int, { nullable: true, description: 'METERED: per period, null = unlimited' })
  limit!: number | null;

  @Field(() => Int, { nullable: true, description: 'METERED: used in the current period' })
  used!: number | null;

  @Field(() => Int, { nullable: true, description: 'METERED: null when unlimited' })
  remaining!: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'CONFIG: the value in force' })
  value!: JsonValue;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When this entitlement ends if nothing changes; null = no end',
  })
  expiresAt!: Date | null;

  @Field(() => Override, {
    nullable: true,
    description: 'The active override that decides it (source OVERRIDE)',
  })
  override!: OverrideValue | null;
}

@ObjectType({ simpleResolvers: true })
export class UsageMeter {
  @Field(() => Feature)
  feature!: Feature;

  @Field(() => Int)
  used!: number;

  @Field(() => Int, { nullable: true })
  limit!: number | null;

  @Field(() => Int, { nullable: true })
  remaining!: number | null;

  @Field(() => DateTimeScalar)
  periodStart!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  periodEnd!: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class UsageResult {
  @Field(() => Boolean, {
    description: 'false when the amount does not fit, or the user is not entitled; nothing was added',
  })
  allowed!: boolean;

  @Field(() => UsageMeter)
  meter!: UsageMeter;
}
