import { Arg, Args, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';

import type { CreatedScimToken, ScimToken as ScimTokenValue } from '../../services/scim-token.service';
import type { RequestContext } from '../context';
import { REQUIRES_READ_SCOPE, REQUIRES_WRITE_SCOPE } from '../directives';
import { CreateScimTokenArgs } from '../inputs/scim.args';
import { ScimToken, ScimTokenCreated } from '../types/scim.types';

@Resolver()
export class ScimTokenResolver {
  @Directive(REQUIRES_READ_SCOPE)
  @Query(() => [ScimToken], { description: 'Every SCIM token, revoked ones included (never the secret)' })
  scimTokens(@Ctx() ctx: RequestContext): Promise<ScimTokenValue[]> {
    return ctx.services.scimTokens.list(ctx.caller);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => ScimTokenCreated)
  createScimToken(
    @Args(() => CreateScimTokenArgs) args: CreateScimTokenArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<CreatedScimToken> {
    return ctx.services.scimTokens.create(ctx.caller, args);
  }

  @Directive(REQUIRES_WRITE_SCOPE)
  @Mutation(() => Boolean, { description: 'The next request with the token gets 401' })
  revokeScimToken(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return ctx.services.scimTokens.revoke(ctx.caller, id);
  }
}
