import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The identity, owned by the users subgraph; this subgraph adds the licensing fields to it. */
@Directive('@key(fields: "id")')
@ObjectType()
export class User {
  @Field(() => ID)
  id!: string;
}
