import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

import type { JsonValue, OverrideEffect as OverrideEffectValue } from '../../domain/types';
import { DateTimeScalar, JSONScalar } from '../scalars';
import { OverrideEffect } from '../types/enums';

@InputType()
export class SetOverrideInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  feature!: string;

  @Field(() => OverrideEffect)
  effect!: OverrideEffectValue;

  @Field(() => Int, { nullable: true, description: 'LIMIT: the limit; null = unlimited' })
  limit?: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'VALUE: the value' })
  value?: JsonValue;

  @Field(() => DateTimeScalar, { nullable: true, description: 'null = until removed' })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ArgsType()
export class RemoveOverrideArgs {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  feature!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}
