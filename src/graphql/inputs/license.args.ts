import { ArgsType, Field, ID, Int } from 'type-graphql';

import { DEFAULT_PAGE_SIZE } from '../../domain/validation';
import { DateTimeScalar } from '../scalars';

/** Argument lists of the license mutations and queries, in the contract's order. */

@ArgsType()
export class UserChangeArgs {
  @Field(() => ID)
  userId!: string;
}

@ArgsType()
export class OptionalReasonArgs extends UserChangeArgs {
  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ArgsType()
export class RevokeLicenseArgs extends UserChangeArgs {
  @Field(() => String)
  reason!: string;
}

@ArgsType()
export class ChangeTierArgs extends UserChangeArgs {
  @Field(() => ID)
  tier!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ArgsType()
export class StartTrialArgs extends UserChangeArgs {
  @Field(() => ID)
  tier!: string;

  @Field(() => DateTimeScalar)
  endsAt!: Date;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ArgsType()
export class RevokeEntitlementArgs {
  @Field(() => ID)
  grantId!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ArgsType()
export class LicenseEventsArgs {
  @Field(() => ID, { nullable: true })
  userId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: "One organization's events (its own and its seats'); needs entitlements:read",
  })
  organizationId?: string | null;

  @Field(() => ID, { nullable: true })
  after?: string | null;

  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
  first?: number | null;
}
