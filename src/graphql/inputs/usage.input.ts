import { Field, ID, InputType, Int } from 'type-graphql';

@InputType()
export class RecordUsageInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  feature!: string;

  @Field(() => Int, { defaultValue: 1, description: '1 to 1,000,000,000' })
  amount!: number;

  @Field(() => String, {
    nullable: true,
    description:
      'Retries with the same key and input return the first result and add nothing (kept 24 hours)',
  })
  idempotencyKey?: string | null;
}
