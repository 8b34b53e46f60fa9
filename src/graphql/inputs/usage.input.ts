import { Field, ID, InputType, Int } from 'type-graphql';

@InputType()
export class RecordUsageInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  feature!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'A pooled feature: the organization whose pool it counts in (may be left out when only one qualifies)',
  })
  organizationId?: string | null;

  @Field(() => Int, { defaultValue: 1, description: '1 to 1,000,000,000' })
  amount!: number;

  @Field(() => String, {
    nullable: true,
    description:
      'Retries with the same key and input return the first result and add nothing (kept 24 hours)',
  })
  idempotencyKey?: string | null;
}
