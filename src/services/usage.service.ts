import { stringify } from 'safe-stable-stringify';
import type { EntityManager } from 'typeorm';
import { IsNull } from 'typeorm';

import { assertAnyScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { Database } from '../db/database';
import type { IdempotencyKeyRow } from '../db/entities';
import { OrganizationUsageCounterRow, UsageAlertRow, UsageCounterRow } from '../db/entities';
import type { FeatureFilter } from '../db/feature-filter';
import type { LicenseStore } from '../db/license-store';
import type { Statement } from '../db/raw-sql';
import { hydrate, statement, upsert } from '../db/raw-sql';
import type { LicenseState } from '../domain/effective';
import { effectiveEntitlement, isPooled } from '../domain/effective';
import { periodWindow } from '../domain/periods';
import type { Catalog, Entitlement, Feature, UsageMeter } from '../domain/types';
import { choosePool, crossedThresholds, fitsLimit, meterAfterUse } from '../domain/usage';
import {
  checkAmount,
  checkIdempotencyKey,
  checkKey,
  checkOrganizationId,
  checkUserId,
} from '../domain/validation';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors';
import type { IdempotencyStore } from './idempotency';
import type { LicenseEventLog, NewLicenseEvent } from './license-event.service';
import { TurnBatcher } from './turn-batcher';

export interface RecordUsageInput {
  userId: string;
  feature: string;
  /** Which organization's pool a pooled feature counts in (needed when several qualify). */
  organizationId?: string | null;
  amount?: number | null;
  idempotencyKey?: string | null;
}

export interface UsageResult {
  allowed: boolean;
  meter: UsageMeter;
}

export const MAX_BATCH_SIZE = 1000;

/**
 * Calls recorded together take at most this many inputs in all (a batch of MAX_BATCH_SIZE always fits): the
 * idempotency keys' upsert binds seven values per input, under SQLite's 32,766.
 */
const MAX_MERGED_INPUTS = 4000;

/** How errors name a call's input: `amount` for recordUsage, `inputs.3.amount` for recordUsageBatch. */
interface CallNaming {
  field(index: number, name: string): string;
  /** Rule 10 for a single call (NOT_FOUND); a batch refuses an unknown feature as malformed input (B1). */
  unknownFeature(index: number, key: string): Error;
}

const SINGLE: CallNaming = {
  field: (_index, name) => name,
  unknownFeature: (_index, key) => new NotFoundError('Feature', key),
};

const BATCH: CallNaming = {
  field: (index, name) => `inputs.${index}.${name}`,
  unknownFeature: (index, key) =>
    new BadUserInputError(`inputs.${index}.feature`, `feature "${key}" does not exist`),
};

/**
 * A transaction's inputs, named as their calls name them. A refused input refuses its whole call: refusals
 * are noted as the inputs are judged, and `settle` throws those noted so far at once (RefusedCalls), so that
 * each step (keys, features, pools) finds every call it refuses in one pass.
 */
interface InputNaming extends CallNaming {
  refuse(index: number, error: Error): void;
  /** Throws the refusals noted so far, if any. */
  settle(): void;
  /** Forgets the refusals of an attempt that was rolled back (a deadlock victim run again). */
  restart(): void;
}

/** A call (recordUsage, or recordUsageBatch) waiting to be recorded with others of its caller. */
interface UsageCall {
  caller: Caller;
  /** Its inputs, indexed from 0 within the call. */
  uses: Use[];
  naming: CallNaming;
}

/** Calls recorded together that were refused, each with its (first) error: `recordTogether` answers them. */
class RefusedCalls extends Error {
  constructor(readonly refusals: ReadonlyMap<number, Error>) {
    super(`${refusals.size} call(s) refused`);
  }
}

/** One validated input. */
interface Use {
  index: number;
  userId: string;
  featureKey: string;
  organizationId: string | null;
  amount: number;
  key: string | null;
}

/** A meter a call counts in, as it stands in this transaction. */
interface Meter {
  counter: Counter;
  owner: Pick<NewLicenseEvent, 'userId' | 'organizationId'>;
  used: number;
  touched: boolean;
}

/** What one use decided before anything is written. */
interface Decision {
  use: Use;
  feature: Feature;
  /** null: not entitled (or no pool qualifies). */
  meter: Meter | null;
  limit: number | null;
}

/**
 * Metering (rules 7, O4, A1, B1). A use is allowed only if its amount fits the limit in force, judged under
 * the meter's lock: the user's license (which grants, revocations, overrides and tier changes take too) for a
 * personal meter, the pool's own row for an organization's. Under those locks the counters read are the
 * latest and nobody else writes them, so a batch is judged in memory, input after input, and its counters are
 * written with one statement per table. Calls of one caller that arrive together share one transaction.
 */
export class UsageService {
  constructor(
    private readonly db: Database,
    private readonly store: LicenseStore,
    private readonly events: LicenseEventLog,
    private readonly idempotency: IdempotencyStore,
  ) {}

  /**
   * Concurrent calls of one caller (the scope of their idempotency keys and the actor of their events),
   * recorded together in arrival order: one transaction for the calls of one turn, or that arrive while two
   * of the caller's transactions run (so that one waiting for a lock does not hold up the others), rather
   * than one each. The effect is that of the calls one after another (each sees what those
   * before it counted); a batch stays all or nothing.
   */
  private readonly calls = new TurnBatcher<UsageCall, UsageResult[]>(
    (_actor, calls) => this.recordTogether(calls),
    { maxSize: MAX_MERGED_INPUTS, maxRunning: 2 },
  );

  async recordUsage(caller: Caller, input: RecordUsageInput): Promise<UsageResult> {
    assertAnyScope(caller, [Scope.usageWrite, Scope.write]);
    const uses = [checkInput(input, 0, SINGLE)];
    const [result] = await this.calls.add(actorOf(caller), { caller, uses, naming: SINGLE });
    return result;
  }

  /** 1 to 1,000 inputs, one transaction, results in input order (rule B1). */
  async recordUsageBatch(caller: Caller, inputs: readonly RecordUsageInput[]): Promise<UsageResult[]> {
    assertAnyScope(caller, [Scope.usageWrite, Scope.write]);
    if (inputs.length < 1 || inputs.length > MAX_BATCH_SIZE) {
      throw new BadUserInputError('inputs', `a batch has 1 to ${MAX_BATCH_SIZE} inputs`);
    }
    const uses = inputs.map((input, index) => checkInput(input, index, BATCH));
    return this.calls.add(actorOf(caller), { caller, uses, naming: BATCH }, uses.length);
  }

  /**
   * Records calls in one transaction, each answered as if it came alone: the calls refused (malformed input,
   * an idempotency conflict) get their errors, and the others are recorded again without them (a refusal
   * rolls the transaction back). A call that reuses another call's idempotency key waits for the next
   * transaction (with the calls after it), where it meets the key as the first one left it, as it would alone.
   */
  private async recordTogether(calls: UsageCall[]): Promise<(UsageResult[] | Error)[]> {
    const answers: (UsageResult[] | Error)[] = new Array(calls.length);
    let pending = calls.map((_, i) => i);
    while (pending.length > 0) {
      const split = withoutSharedKeys(pending, calls);
      let running = split.now;
      pending = split.later;
      while (running.length > 0) {
        const { uses, naming, callOf } = together(running.map((i) => calls[i]));
        try {
          const results = await this.record(calls[running[0]].caller, uses, naming);
          running.forEach((i) => (answers[i] = []));
          uses.forEach((_, k) => (answers[running[callOf[k]]] as UsageResult[]).push(results[k]));
          running = [];
        } catch (error) {
          if (!(error instanceof RefusedCalls)) {
            // The calls of the failed transaction fail with it; those waiting for the next one still run.
            for (const i of running) answers[i] = error as Error;
            break;
          }
          for (const [call, refusal] of error.refusals) answers[running[call]] = refusal;
          running = running.filter((_, k) => !error.refusals.has(k));
        }
      }
    }
    return answers;
  }

  private record(caller: Caller, uses: Use[], naming: InputNaming): Promise<UsageResult[]> {
    return this.db.transaction(async (manager) => {
      naming.restart();
      const now = new Date();
      const results = new Map<number, UsageResult>();
      const { fresh, sameAs, claimed } = await this.claimKeys(manager, caller, uses, naming, results);

      const userIds = [...new Set(fresh.map((use) => use.userId))];
      if (userIds.length > 0) {
        const only = { features: [...new Set(fresh.map((use) => use.featureKey))] };
        const states = await this.store.holdStates(manager, userIds, now, only);
        const decisions = await this.decide(manager, fresh, states, naming, now, only);
        const crossings = decisions.map((decision) => this.count(decision, results, now));
        const writes = counterWrites(manager, decisions, now);
        if (crossings.some((crossing) => crossing !== null)) {
          // The marks of a crossing go on the counters' rows, so those are written first.
          for (const { sql, parameters } of writes) await manager.query(sql, parameters);
          for (const crossing of crossings)
            if (crossing) await this.recordCrossing(manager, caller, crossing, now);
        } else {
          for (const write of writes) this.db.writeAtCommit(manager, write);
        }
      }
      for (const [index, first] of sameAs) results.set(index, results.get(first)!);
      this.idempotency.completeAll(
        manager,
        [...claimed].map(([index, row]) => ({ claimed: row, response: JSON.stringify(results.get(index)) })),
      );
      return uses.map((use) => results.get(use.index)!);
    });
  }

  /**
   * Claims the inputs' idempotency keys, in key order (racing batches then claim in one order); a replayed
   * key's first result goes straight into `results`, and a key repeated within the batch answers like its
   * first use. Returns the inputs left to judge.
   */
  private async claimKeys(
    manager: EntityManager,
    caller: Caller,
    uses: Use[],
    naming: InputNaming,
    results: Map<number, UsageResult>,
  ) {
    const scope = { caller: actorOf(caller), operation: 'recordUsage' };
    const sameAs = new Map<number, number>();
    const firstByKey = new Map<string, Use>();
    const conflict = (use: Use) =>
      naming.refuse(
        use.index,
        new ConflictError(
          `The idempotency key "${use.key}" was already used with other input`,
          naming.field(use.index, 'idempotencyKey'),
        ),
      );
    const keyed = uses
      .filter((use) => use.key !== null)
      .sort((a, b) => compare(a.key!, b.key!) || a.index - b.index);
    for (const use of keyed) {
      const first = firstByKey.get(use.key!);
      if (!first) firstByKey.set(use.key!, use);
      else if (stringify(requestOf(first)) !== stringify(requestOf(use))) conflict(use);
      else sameAs.set(use.index, first.index);
    }
    const firsts = [...firstByKey.values()];
    const claims =
      firsts.length === 0
        ? []
        : await this.idempotency.claimAll(
            manager,
            scope,
            firsts.map((use) => ({ key: use.key!, request: requestOf(use) })),
          );
    const claimed = new Map<number, IdempotencyKeyRow>();
    claims.forEach((claim, i) => {
      if ('conflict' in claim) conflict(firsts[i]);
      else if (claim.replayed) results.set(firsts[i].index, reviveUsageResult(claim.response));
      else claimed.set(firsts[i].index, claim.claimed);
    });
    naming.settle();
    const fresh = uses.filter((use) => !results.has(use.index) && !sameAs.has(use.index));
    return { fresh, sameAs, claimed };
  }

  /**
   * Which meter each use counts in and under which limit, from the states read under the licenses' locks.
   * Malformed input refuses the whole call before any further lock. A pooled use is judged under its
   * organization's lock (its limit read again under it, `lockOrganizations`) and its pool's (its count).
   */
  private async decide(
    manager: EntityManager,
    uses: Use[],
    states: Map<string, LicenseState>,
    naming: InputNaming,
    now: Date,
    only: FeatureFilter,
  ): Promise<Decision[]> {
    const checked = uses.map((use) => meteredFeature(states.get(use.userId)!.catalog, use, naming));
    naming.settle();
    const features = checked as Feature[];
    const pooledUsers = new Set(uses.filter((_, i) => isPooled(features[i])).map((use) => use.userId));
    if (pooledUsers.size > 0) {
      const locked = await this.store.lockOrganizations(
        manager,
        new Map([...pooledUsers].map((userId) => [userId, states.get(userId)!])),
        now,
        only,
      );
      for (const [userId, state] of locked) states.set(userId, state);
    }
    // The user's whole entitlement: `organizationId` picks a pool, it never narrows a user's own meter (O3).
    const entitlements = new Map<string, Entitlement | undefined>();
    const entitlementOf = (userId: string, featureKey: string) => {
      const cacheKey = `${userId}\u0000${featureKey}`;
      if (!entitlements.has(cacheKey)) {
        entitlements.set(cacheKey, effectiveEntitlement(states.get(userId)!, now, null, featureKey));
      }
      return entitlements.get(cacheKey);
    };
    const meters = new Map<string, Meter>();
    const pools: Meter[] = [];
    const decisions = uses.map((use, i): Decision => {
      const feature = features[i];
      const periodStart = periodWindow(feature.usagePeriod, now).start;
      if (isPooled(feature)) {
        const pool = withField(naming, use.index, () =>
          choosePool(entitlementOf(use.userId, feature.key), use.organizationId),
        );
        if (!pool) return { use, feature, meter: null, limit: null };
        const key = { organizationId: pool.organizationId, featureKey: feature.key, periodStart };
        const meter = meterFor(
          meters,
          { table: POOL_COUNTERS, key },
          { organizationId: pool.organizationId },
          0,
        );
        if (!pools.includes(meter)) pools.push(meter);
        return { use, feature, meter, limit: pool.limit };
      }
      const entitlement = entitlementOf(use.userId, feature.key);
      if (!entitlement) return { use, feature, meter: null, limit: null };
      const key = { userId: use.userId, featureKey: feature.key, periodStart };
      const used = states.get(use.userId)!.usedByFeature?.get(feature.key) ?? 0;
      const meter = meterFor(meters, { table: USER_COUNTERS, key }, { userId: use.userId }, used);
      return { use, feature, meter, limit: entitlement.limit };
    });
    naming.settle();
    await this.lockPools(manager, pools, now);
    return decisions;
  }

  /**
   * Creates the pools' rows if missing, then reads them with FOR UPDATE (one round trip): the latest counts
   * (not the snapshot), locked against the other members until commit. In key order, so that racing
   * batches wait for each other rather than deadlock.
   */
  private async lockPools(manager: EntityManager, pools: Meter[], now: Date): Promise<void> {
    if (pools.length === 0) return;
    const ordered = [...pools].sort((a, b) => compare(meterId(a.counter), meterId(b.counter)));
    const keys = ordered.map((pool) => pool.counter.key as PoolKey);
    const parameters: Record<string, unknown> = {};
    const where = keys.map((key, i) => {
      Object.assign(parameters, {
        [`o${i}`]: key.organizationId,
        [`f${i}`]: key.featureKey,
        [`p${i}`]: key.periodStart,
      });
      return `(organization_id = :o${i} AND feature_key = :f${i} AND period_start = :p${i})`;
    });
    const [, rows] = await this.db.readBatch(manager, [
      counterUpsert(manager, POOL_COUNTERS, ordered, now, [POOL_COUNTERS.owner]),
      // SQLite has no row locks; its single writer holds the database instead.
      statement(
        manager,
        `SELECT * FROM ${POOL_COUNTERS.name} WHERE ${where.join(' OR ')}${this.db.forUpdateClause}`,
        parameters,
      ),
    ]);
    const byId = new Map(ordered.map((pool) => [meterId(pool.counter), pool]));
    for (const row of hydrate(manager, OrganizationUsageCounterRow, rows)) {
      byId.get(meterId({ table: POOL_COUNTERS, key: row }))!.used = Number(row.used);
    }
  }

  /** Judges one use against its meter as it stands after the uses before it (rule 7); what it crossed. */
  private count(
    { use, feature, meter, limit }: Decision,
    results: Map<number, UsageResult>,
    now: Date,
  ): Crossing | null {
    const organizationId = meter?.owner.organizationId ?? null;
    if (!meter) {
      results.set(use.index, { allowed: false, meter: meterAfterUse(feature, undefined, 0, now) });
      return null;
    }
    const before = meter.used;
    const allowed = fitsLimit(before, use.amount, limit);
    if (allowed) {
      meter.used += use.amount;
      meter.touched = true;
    }
    results.set(use.index, {
      allowed,
      meter: meterAfterUse(feature, limit, meter.used, now, organizationId),
    });
    if (!allowed) return null;
    const thresholds = crossedThresholds(feature.alertThresholds, limit, before, meter.used);
    const limitReached = limit !== null && meter.used >= limit;
    return thresholds.length > 0 || limitReached ? { meter, feature, thresholds, limitReached } : null;
  }

  /**
   * What an allowed use crossed, recorded in its transaction: USAGE_THRESHOLD_REACHED for each alert
   * threshold (rule A1) and USAGE_LIMIT_REACHED at the limit, each at most once per meter, period and
   * threshold however many calls race: the stored marks (usage_alerts, limit_reached_at) outlive a limit that
   * moves within the period. A pool's events are the organization's (no user).
   */
  private async recordCrossing(
    manager: EntityManager,
    caller: Caller,
    { meter, feature, thresholds, limitReached }: Crossing,
    now: Date,
  ): Promise<void> {
    const { counter, owner } = meter;
    const mark = {
      ownerKind: owner.organizationId ? ('ORGANIZATION' as const) : ('USER' as const),
      ownerId: (owner.organizationId ?? owner.userId)!,
      featureKey: feature.key,
      periodStart: counter.key.periodStart,
    };
    const event = { ...owner, featureKey: feature.key, actor: actorOf(caller) };
    for (const threshold of thresholds) {
      if (!(await storeAlertMark(manager, { ...mark, threshold, reachedAt: now }))) continue;
      await this.events.record(manager, { type: 'USAGE_THRESHOLD_REACHED', ...event, threshold }, now);
    }
    if (!limitReached) return;
    const marked = await manager.update(
      counter.table.entity,
      { ...counter.key, limitReachedAt: IsNull() },
      { limitReachedAt: now },
    );
    if (marked.affected === 1)
      await this.events.record(manager, { type: 'USAGE_LIMIT_REACHED', ...event }, now);
  }
}

interface Crossing {
  meter: Meter;
  feature: Feature;
  thresholds: number[];
  limitReached: boolean;
}

type PoolKey = { organizationId: string; featureKey: string; periodStart: Date };

/** The two tables of usage counters: a user's, and an organization's pool. */
const USER_COUNTERS = { entity: UsageCounterRow, name: 'usage_counters', owner: 'user_id' } as const;
const POOL_COUNTERS = {
  entity: OrganizationUsageCounterRow,
  name: 'organization_usage_counters',
  owner: 'organization_id',
} as const;

/** A usage counter: a user's (usage_counters) or an organization's pool (organization_usage_counters). */
type Counter =
  | { table: typeof USER_COUNTERS; key: { userId: string; featureKey: string; periodStart: Date } }
  | { table: typeof POOL_COUNTERS; key: PoolKey };

const ownerOf = (key: Counter['key']) => ('userId' in key ? key.userId : key.organizationId);

function meterId({ table, key }: Counter): string {
  return `${table.name}\u0000${ownerOf(key)}\u0000${key.featureKey}\u0000${key.periodStart.getTime()}`;
}

/** The counters the uses changed, one statement per table, with their new totals (their locks are held). */
function counterWrites(manager: EntityManager, decisions: Decision[], now: Date): Statement[] {
  const touched = new Set<Meter>();
  for (const { meter } of decisions) if (meter?.touched) touched.add(meter);
  return [USER_COUNTERS, POOL_COUNTERS].flatMap((table) => {
    const meters = [...touched].filter((meter) => meter.counter.table === table);
    return meters.length === 0 ? [] : [counterUpsert(manager, table, meters, now, ['used', 'updated_at'])];
  });
}

/**
 * Writes `meters` into their table (one statement): a missing counter is created with the meter's count; an
 * existing one sets the `update` columns (its owner's column alone: left as it is, but locked).
 */
function counterUpsert(
  manager: EntityManager,
  table: Counter['table'],
  meters: Meter[],
  now: Date,
  update: string[],
): Statement {
  return upsert(
    manager,
    table.name,
    [table.owner, 'feature_key', 'period_start', 'used', 'limit_reached_at', 'updated_at'],
    meters.map(({ counter: { key }, used }) => [
      ownerOf(key),
      key.featureKey,
      key.periodStart,
      used,
      null,
      now,
    ]),
    { key: [table.owner, 'feature_key', 'period_start'], update },
  );
}

/**
 * The inputs of `calls` as one run's, indexed in order across them, named as their own calls name them
 * (`callOf`: each input's call); refusals are collected per call and thrown by `settle` (RefusedCalls).
 */
function together(calls: UsageCall[]): { uses: Use[]; naming: InputNaming; callOf: number[] } {
  const uses: Use[] = [];
  const callOf: number[] = [];
  const local: number[] = [];
  calls.forEach((call, c) =>
    call.uses.forEach((use) => {
      callOf.push(c);
      local.push(use.index);
      uses.push({ ...use, index: uses.length });
    }),
  );
  const refusals = new Map<number, Error>();
  const naming: InputNaming = {
    field: (index, name) => calls[callOf[index]].naming.field(local[index], name),
    unknownFeature: (index, key) => calls[callOf[index]].naming.unknownFeature(local[index], key),
    refuse: (index, error) => {
      if (!refusals.has(callOf[index])) refusals.set(callOf[index], error);
    },
    settle: () => {
      if (refusals.size > 0) throw new RefusedCalls(new Map(refusals));
    },
    restart: () => refusals.clear(),
  };
  return { uses, naming, callOf };
}

/**
 * Splits `pending` (indexes into `calls`, in arrival order) where a call uses an idempotency key that an
 * earlier one uses too: the calls before it share a transaction, it and those after it wait for the next
 * one, so that arrival order holds.
 */
function withoutSharedKeys(pending: number[], calls: UsageCall[]): { now: number[]; later: number[] } {
  const taken = new Set<string>();
  for (const [position, i] of pending.entries()) {
    const keys = new Set(calls[i].uses.flatMap((use) => (use.key === null ? [] : [use.key])));
    if ([...keys].some((key) => taken.has(key)))
      return { now: pending.slice(0, position), later: pending.slice(position) };
    keys.forEach((key) => taken.add(key));
  }
  return { now: pending, later: [] };
}

/** The one Meter object per counter in this call, so that later uses see what earlier ones added. */
function meterFor(meters: Map<string, Meter>, counter: Counter, owner: Meter['owner'], used: number): Meter {
  const id = meterId(counter);
  let meter = meters.get(id);
  if (!meter) meters.set(id, (meter = { counter, owner, used, touched: false }));
  return meter;
}

function checkInput(input: RecordUsageInput, index: number, naming: CallNaming): Use {
  const field = (name: string) => naming.field(index, name);
  return {
    index,
    userId: checkUserId(input.userId, field('userId')),
    featureKey: checkKey(input.feature, field('feature')),
    amount: checkAmount(input.amount ?? 1, field('amount')),
    organizationId:
      input.organizationId === null || input.organizationId === undefined
        ? null
        : checkOrganizationId(input.organizationId, field('organizationId')),
    key: checkIdempotencyKey(input.idempotencyKey, field('idempotencyKey')),
  };
}

/** What an idempotency key is compared on: the input as given (the pool only when named). */
function requestOf(use: Use): object {
  return {
    userId: use.userId,
    feature: use.featureKey,
    amount: use.amount,
    ...(use.organizationId === null ? {} : { organizationId: use.organizationId }),
  };
}

/**
 * Runs a rule whose BAD_USER_INPUT names a field of one input: the input is refused, its field named as the
 * call names inputs, and the answer is null.
 */
function withField<T>(naming: InputNaming, index: number, rule: () => T): T | null {
  try {
    return rule();
  } catch (error) {
    if (!(error instanceof BadUserInputError)) throw error;
    naming.refuse(index, new BadUserInputError(naming.field(index, error.field), error.message));
    return null;
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Stores an alert's mark unless it is stored already; true when this call stored it. Not a plain read first:
 * a pool's state (and so a transaction's snapshot) is read before the pool's row is locked, so a mark another
 * member's call stored in the meantime, under a limit since raised, is only seen by a write.
 */
async function storeAlertMark(manager: EntityManager, mark: UsageAlertRow): Promise<boolean> {
  const [sql, parameters] = manager
    .createQueryBuilder()
    .insert()
    .into(UsageAlertRow)
    .values(mark)
    .orIgnore()
    .getQueryAndParameters();
  const { affected } = await manager.queryRunner!.query(sql, parameters, true);
  return affected === 1;
}

/** The METERED feature a use counts in; null when it refused the use (unknown, or not METERED). */
function meteredFeature(catalog: Catalog, use: Use, naming: InputNaming): Feature | null {
  const feature = catalog.features.get(use.featureKey);
  if (!feature) {
    naming.refuse(use.index, naming.unknownFeature(use.index, use.featureKey));
    return null;
  }
  if (feature.kind !== 'METERED') {
    naming.refuse(
      use.index,
      new BadUserInputError(
        naming.field(use.index, 'feature'),
        `"${use.featureKey}" is a ${feature.kind} feature; only METERED features are metered`,
      ),
    );
    return null;
  }
  return feature;
}

function reviveUsageResult(json: string): UsageResult {
  const result = JSON.parse(json) as UsageResult;
  const meter = result.meter as UsageMeter & { periodStart: string; periodEnd: string | null };
  return {
    allowed: result.allowed,
    meter: {
      ...meter,
      periodStart: new Date(meter.periodStart),
      periodEnd: meter.periodEnd === null ? null : new Date(meter.periodEnd),
    },
  };
}
