import { Arg, Ctx, Directive, Mutation, Resolver, UseMiddleware } from 'type-graphql';

import type { UsageResult as UsageResultValue } from '../../services/usage.service';
import type { RequestContext } from '../context';
import { REQUIRES_USAGE_SCOPE } from '../directives';
import { freshReadsAfterMutation } from '../fresh-reads';
import { RecordUsageInput } from '../inputs/usage.input';
import { UsageResult } from '../types/license.types';

@Resolver()
export class UsageResolver {
  @Directive(REQUIRES_USAGE_SCOPE)
  @Mutation(() => UsageResult, { description: 'Adds usage to the current period only if it fits the limit' })
  @UseMiddleware(freshReadsAfterMutation)
  recordUsage(
    @Arg('input', () => RecordUsageInput) input: RecordUsageInput,
    @Ctx() ctx: RequestContext,
  ): Promise<UsageResultValue> {
    return ctx.services.usage.recordUsage(ctx.caller, input);
  }

  @Directive(REQUIRES_USAGE_SCOPE)
  @Mutation(() => [UsageResult], {
    description:
      '1 to 1,000 inputs judged one after another, in one transaction; results in input order. A malformed input refuses the whole batch, naming inputs.<index>',
  })
  @UseMiddleware(freshReadsAfterMutation)
  recordUsageBatch(
    @Arg('inputs', () => [RecordUsageInput]) inputs: RecordUsageInput[],
    @Ctx() ctx: RequestContext,
  ): Promise<UsageResultValue[]> {
    return ctx.services.usage.recordUsageBatch(ctx.caller, inputs);
  }
}
