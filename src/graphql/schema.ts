import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';

import type { RequestContext } from './context';
import { AUTH_DIRECTIVES, withoutAuthDirectives } from './directives';
import type { RecordUsageInput } from './inputs/usage.input';
import { CatalogResolver } from './resolvers/catalog.resolver';
import { resolveEntities } from './resolvers/entities';
import { EntitlementResolver, UsageMeterResolver } from './resolvers/entitlement.resolver';
import { GrantResolver } from './resolvers/grant.resolver';
import { GroupTierResolver } from './resolvers/group-tier.resolver';
import { LicenseResolver } from './resolvers/license.resolver';
import { LicenseEventResolver } from './resolvers/license-event.resolver';
import { organizationReferenceResolvers } from './resolvers/organization.reference';
import {
  OrganizationLicenseResolver,
  OrganizationResolver,
  SeatResolver,
} from './resolvers/organization.resolver';
import { OrganizationLicenseMutations } from './resolvers/organization-license.resolver';
import { OverrideResolver } from './resolvers/override.resolver';
import { ScimTokenResolver } from './resolvers/scim-token.resolver';
import { SubscriptionResolver } from './resolvers/subscription.resolver';
import { UsageResolver } from './resolvers/usage.resolver';
import { userReferenceResolvers } from './resolvers/user.reference';
import { UserResolver } from './resolvers/user.resolver';
import { WebhookResolver } from './resolvers/webhook.resolver';
import { DateTimeScalar } from './scalars';
import type { User } from './types/user.type';

const federationLink = (authDirectives: boolean) => `extend schema @link(
  url: "https://specs.apollo.dev/federation/v2.5"
  import: ${JSON.stringify(['@key', ...(authDirectives ? AUTH_DIRECTIVES : [])])}
)`;

export interface SubgraphOptions {
  /** false: the SDL leaves out `@authenticated` and `@requiresScopes` (FEDERATION_AUTH_DIRECTIVES). */
  authDirectives: boolean;
}

const DEFAULTS: SubgraphOptions = { authDirectives: true };

/**
 * type-graphql builds the schema; @apollo/subgraph turns it into a Federation 2 subgraph. The types that are
 * plain data (entitlements, features, tiers, meters...) are declared with `simpleResolvers`, so their fields
 * are read by graphql-js's default resolver instead of a type-graphql wrapper: an `_entities` answer for a
 * thousand users reads tens of thousands of them.
 */
export async function buildSubgraph(options: SubgraphOptions = DEFAULTS): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      UserResolver,
      CatalogResolver,
      LicenseResolver,
      UsageResolver,
      GrantResolver,
      LicenseEventResolver,
      SubscriptionResolver,
      WebhookResolver,
      OrganizationResolver,
      OrganizationLicenseResolver,
      SeatResolver,
      OrganizationLicenseMutations,
      EntitlementResolver,
      OverrideResolver,
      UsageMeterResolver,
      ScimTokenResolver,
      GroupTierResolver,
    ],
    // type-graphql insists on a PubSub; every subscription here brings its own stream (events/event-stream.ts).
    pubSub: createPubSub(),
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
    skipCheck: true,
  });
  const resolvers = createResolversMap(schema) as Record<string, object>;
  const typeDefs = parse(`${federationLink(options.authDirectives)}\n${printSchemaWithDirectives(schema)}`);
  return buildSubgraphSchema({
    typeDefs: options.authDirectives ? typeDefs : withoutAuthDirectives(typeDefs),
    resolvers: {
      ...resolvers,
      Query: { ...resolvers.Query, _entities: resolveEntities },
      Mutation: { ...resolvers.Mutation, ...directUsageMutations(new UsageResolver()) },
      User: { ...resolvers.User, ...directUserFields(new UserResolver()), ...userReferenceResolvers.User },
      Organization: { ...resolvers.Organization, ...organizationReferenceResolvers.Organization },
    } as never,
  });
}

/** A resolver called by graphql-js itself, not through type-graphql's wrapper. */
type DirectResolver<Root, Args> = (root: Root, args: Args, ctx: RequestContext) => unknown;

/**
 * type-graphql answers every field that takes arguments through a promise (its argument validation is async
 * even when switched off), and graphql-js then completes the object holding it through promises too. These
 * User fields are read for every user of an `_entities` batch, so they call UserResolver's own methods at once,
 * with graphql-js's arguments (objects of the same fields; type-graphql would only copy them into its class).
 */
function directUserFields(users: UserResolver): Record<string, DirectResolver<User, never>> {
  return {
    entitlements: (user, args, ctx) => users.entitlements(user, args, ctx),
    entitlement: (user, args, ctx) => users.entitlement(user, args, ctx),
    hasEntitlement: (user, args, ctx) => users.hasEntitlement(user, args, ctx),
    usage: (user, args, ctx) => users.usage(user, args, ctx),
  };
}

/**
 * The usage mutations are metering's hot path, one request per unit of usage. type-graphql's wrapper would
 * answer them through its async argument validation, copy every input into a class instance and run a
 * middleware chain; they call UsageResolver's methods at once, with graphql-js's coerced arguments.
 */
function directUsageMutations(usage: UsageResolver) {
  const recordUsage: DirectResolver<unknown, { input: RecordUsageInput }> = (_root, args, ctx) =>
    usage.recordUsage(args.input, ctx);
  const recordUsageBatch: DirectResolver<unknown, { inputs: RecordUsageInput[] }> = (_root, args, ctx) =>
    usage.recordUsageBatch(args.inputs, ctx);
  return { recordUsage, recordUsageBatch };
}

/** The SDL that `_service { sdl }` serves and (with the defaults) `schema.graphql` commits. */
export async function printSubgraphSdl(options: SubgraphOptions = DEFAULTS): Promise<string> {
  return printSubgraphSchema(await buildSubgraph(options));
}
