import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';

import type { LicenseStatus as LicenseStatusValue } from '../../domain/types';
import type { OrganizationView } from '../../services/organization.service';
import { DateTimeScalar } from '../scalars';
import { Tier } from './catalog.types';
import { LicenseStatus } from './enums';

/** An organization, owned by another subgraph; this one adds the license it bought and its seats. */
@Directive('@key(fields: "id")')
@ObjectType()
export class Organization {
  @Field(() => ID)
  id!: string;

  /** Not a field: the view, when whoever produced this Organization already loaded it. */
  view?: OrganizationView;
}

/** `tier` is resolved in OrganizationResolver. */
@ObjectType()
export class OrganizationLicense {
  @Field(() => LicenseStatus)
  status!: LicenseStatusValue;

  @Field(() => Tier)
  tier!: Tier;

  @Field(() => Int, { nullable: true, description: 'null = unlimited' })
  seatLimit!: number | null;

  @Field(() => Int)
  seatsUsed!: number;

  @Field(() => Int, { nullable: true, description: 'null when the seat limit is unlimited' })
  seatsAvailable!: number | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => String, { nullable: true })
  revokeReason!: string | null;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;
}

/** A seat binds an organization's license to one identity. `organization` and `user` are resolved in SeatResolver. */
@ObjectType()
export class Seat {
  @Field(() => DateTimeScalar)
  assignedAt!: Date;

  @Field(() => String, { description: 'The `sub` of whoever assigned it' })
  assignedBy!: string;
}

@ObjectType({ simpleResolvers: true })
export class SeatPage {
  @Field(() => [Seat])
  seats!: Seat[];

  @Field(() => ID, { nullable: true })
  endCursor!: string | null;

  @Field(() => Boolean)
  hasMore!: boolean;
}
