import { ArgsType, Field, ID } from 'type-graphql';

import type { ScimUserIdAttribute as ScimUserIdAttributeValue } from '../../domain/scim/resources';
import { ScimUserIdAttribute } from '../types/enums';

@ArgsType()
export class CreateScimTokenArgs {
  @Field(() => ID, { nullable: true, description: "Omitted: the token governs identities' licenses" })
  organizationId?: string | null;

  @Field(() => ScimUserIdAttribute, { nullable: true, defaultValue: 'EXTERNAL_ID' })
  userIdAttribute?: ScimUserIdAttributeValue | null;
}

@ArgsType()
export class SetGroupTierArgs {
  @Field(() => String, { description: "A SCIM group's displayName in the identity directory, any case" })
  group!: string;

  @Field(() => ID, { nullable: true, description: 'null removes the mapping' })
  tier?: string | null;
}
