import { Field, ID, Int, ObjectType } from 'type-graphql';

import type { JsonValue, OverrideEffect as OverrideEffectValue } from '../../domain/types';
import { DateTimeScalar, JSONScalar } from '../scalars';
import { OverrideEffect } from './enums';

/** An admin's adjustment of one feature for one identity. `user`, `feature` and `active` are resolved in OverrideResolver. */
@ObjectType()
export class Override {
  @Field(() => ID)
  id!: string;

  @Field(() => OverrideEffect)
  effect!: OverrideEffectValue;

  @Field(() => Int, { nullable: true, description: 'LIMIT: the limit in force; null = unlimited' })
  limit!: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'VALUE: the value in force' })
  value!: JsonValue;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => String)
  createdBy!: string;

  @Field(() => DateTimeScalar)
  createdAt!: Date;
}
