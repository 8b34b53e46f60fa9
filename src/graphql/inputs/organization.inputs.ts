import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

import { DEFAULT_PAGE_SIZE } from '../../domain/validation';
import { GrantDetailsInput } from './grant.input';

@InputType()
export class OrganizationLicenseInput {
  @Field(() => ID)
  organizationId!: string;

  @Field(() => ID)
  tier!: string;

  @Field(() => Int, {
    nullable: true,
    description: 'null or omitted = unlimited; never below the seats in use',
  })
  seatLimit?: number | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@InputType()
export class GrantOrganizationEntitlementInput extends GrantDetailsInput {
  @Field(() => ID)
  organizationId!: string;
}

@ArgsType()
export class OrganizationChangeArgs {
  @Field(() => ID)
  organizationId!: string;
}

@ArgsType()
export class RevokeOrganizationLicenseArgs extends OrganizationChangeArgs {
  @Field(() => String)
  reason!: string;
}

@ArgsType()
export class OptionalOrganizationReasonArgs extends OrganizationChangeArgs {
  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ArgsType()
export class SeatArgs extends OrganizationChangeArgs {
  @Field(() => ID)
  userId!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ArgsType()
export class SeatPageArgs {
  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
  first?: number | null;

  @Field(() => ID, { nullable: true })
  after?: string | null;
}

/**
 * The optional narrowing of the User fields to one organization (rule O3): only the identity's own license
 * and that organization's seat count.
 */
@ArgsType()
export class OrganizationScopeArgs {
  @Field(() => ID, { nullable: true })
  organizationId?: string | null;
}

@ArgsType()
export class FeatureArgs {
  @Field(() => ID)
  feature!: string;

  @Field(() => ID, { nullable: true })
  organizationId?: string | null;
}
