import { Field, ID, ObjectType } from 'type-graphql';

import type { ScimUserIdAttribute as ScimUserIdAttributeValue } from '../../domain/scim/resources';
import { DateTimeScalar } from '../scalars';
import { Tier } from './catalog.types';
import { ScimUserIdAttribute } from './enums';

@ObjectType({ simpleResolvers: true, description: 'A token an identity provider calls /scim/v2 with' })
export class ScimToken {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: "Null: it governs identities' licenses" })
  organizationId!: string | null;

  @Field(() => ScimUserIdAttribute)
  userIdAttribute!: ScimUserIdAttributeValue;

  @Field(() => String)
  createdBy!: string;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class ScimTokenCreated {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'The bearer token for /scim/v2; shown only here, once' })
  token!: string;
}

/** `tier` is resolved in GroupTierResolver. */
@ObjectType({ description: 'A SCIM group name whose members have a tier too (setGroupTier)' })
export class GroupTier {
  @Field(() => String, { description: 'As setGroupTier was given it; matched without regard to case' })
  group!: string;

  @Field(() => Tier)
  tier!: Tier;

  @Field(() => String)
  updatedBy!: string;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;
}
