import { Directive, Field, ID, ObjectType } from 'type-graphql';

import type { LicenseView } from '../../domain/effective';

/** The identity, owned by the users subgraph; this subgraph adds the licensing fields to it. */
@Directive('@key(fields: "id")')
@ObjectType()
export class User {
  @Field(() => ID)
  id!: string;

  /** Not a field: the license view, when whoever produced this User already loaded it. */
  view?: LicenseView;
}
