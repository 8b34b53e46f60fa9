import { Field, ObjectType } from 'type-graphql';

import { DateTimeScalar } from '../scalars';

@ObjectType({
  simpleResolvers: true,
  description:
    'A signed license (compact JWS) that any service verifies offline against /.well-known/jwks.json',
})
export class LicenseToken {
  @Field(() => String)
  token!: string;

  @Field(() => DateTimeScalar, { description: 'The token\'s "exp"' })
  expiresAt!: Date;
}
