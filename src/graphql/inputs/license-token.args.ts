import { ArgsType, Field, ID, Int } from 'type-graphql';

import { DEFAULT_TOKEN_TTL_SECONDS } from '../../domain/validation';

@ArgsType()
export class LicenseTokenArgs {
  @Field(() => Int, {
    nullable: true,
    defaultValue: DEFAULT_TOKEN_TTL_SECONDS,
    description: '60 to 86400; the token ends earlier when something in it would end',
  })
  ttlSeconds?: number | null;

  @Field(() => String, { nullable: true, description: 'The "aud" claim; left out when not given' })
  audience?: string | null;

  @Field(() => ID, { nullable: true })
  organizationId?: string | null;
}
