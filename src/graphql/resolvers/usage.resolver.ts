import { Arg, Ctx, Directive, Mutation, Resolver } from 'type-graphql';

import type { UsageResult as UsageResultValue } from '../../services/usage.service';
import type { RequestContext } from '../context';
import { REQUIRES_USAGE_SCOPE } from '../directives';
import { withFreshReadsAfter } from '../fresh-reads';
import { RecordUsageInput } from '../inputs/usage.input';
import { UsageResult } from '../types/license.types';

/** Metering's hot path: schema.ts calls these methods directly, without type-graphql's resolver wrapper. */
@Resolver()
export class UsageResolver {
  @Directive(REQUIRES_USAGE_SCOPE)
  @Mutation(() => UsageResult, { description: 'Adds usage to the current period only if it fits the limit' })
  recordUsage(
    @Arg('input', () => RecordUsageInput) input: RecordUsageInput,
    @Ctx() ctx: RequestContext,
  ): Promise<UsageResultValue> {
    return withFreshReadsAfter(ctx, ctx.services.usage.recordUsage(ctx.caller, input));
  }

  @Directive(REQUIRES_USAGE_SCOPE)
  @Mutation(() => [UsageResult], {
    description:
      '1 to 1,000 inputs judged one after another, in one transaction; results in input order. A malformed input refuses the whole batch, naming inputs.<index>',
  })
  recordUsageBatch(
    @Arg('inputs', () => [RecordUsageInput]) inputs: RecordUsageInput[],
    @Ctx() ctx: RequestContext,
  ): Promise<UsageResultValue[]> {
    return withFreshReadsAfter(ctx, ctx.services.usage.recordUsageBatch(ctx.caller, inputs));
  }
}
