import { Field, ID, Int, ObjectType } from 'type-graphql';

import type { JsonValue } from '../../domain/types';
import { DateTimeScalar, JSONScalar } from '../scalars';

/** One grant to one identity. `user`, `feature` and `active` are resolved in GrantResolver. */
@ObjectType()
export class Grant {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { nullable: true })
  limit!: number | null;

  @Field(() => JSONScalar, { nullable: true })
  value!: JsonValue;

  @Field(() => DateTimeScalar)
  startsAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => String, { nullable: true })
  revokeReason!: string | null;

  @Field(() => String)
  grantedBy!: string;

  @Field(() => String, { nullable: true })
  reason!: string | null;
}
