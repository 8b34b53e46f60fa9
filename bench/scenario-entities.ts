import { Session } from 'node:inspector/promises';

import type { Pool } from 'mysql2/promise';

import { loadConfig } from '../src/config';
import { createDataSource } from '../src/db/data-source';
import { earliestCurrentPeriodStart } from '../src/domain/usage';
import { createLogger } from '../src/logger';
import { startSubgraph } from '../src/runtime';
import { QueryCounter } from '../support/query-counter';
import type { BenchContext } from './context';
import { productionEnv } from './context';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import { openPool } from './setup';
import { now, round, summarize } from './stats';

const WARMUP = 5;
const ITERATIONS = 30;
const SIZES = [1000, 10];
const FEATURE = 'export.pdf';

interface Measured {
  server: number[];
  floor: number[];
  statements: number[];
  bytes: number;
}

const distinct = (values: number[]) => [...new Set(values)];

export const ENTITIES_QUERY = `query Batch($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on User {
      tier { key }
      entitlements { feature { key } limit used remaining }
      hasEntitlement(feature: "${FEATURE}")
    }
  }
}`;

/**
 * Scenario 1: one `_entities` request for N users, served by the app assembled in this process (so that a
 * TypeORM logger counts its statements), against the floor: the same rows read by six hand-written batched
 * mysql2 queries in this process, serialized to JSON. Requests and floor runs alternate, so that noise on the
 * machine hits both alike. The same again for users who also hold seats in one to three organizations each,
 * against a floor that reads their seats and organizations too (issue 15). No background worker runs (no
 * event feed timer, no expiry sweeper), so every statement counted during a request is the request's.
 */
export async function runEntities(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const counter = new QueryCounter();
  const config = loadConfig({
    DATABASE_URL: options.databaseUrl,
    NODE_ENV: options.nodeEnv,
    ...productionEnv(options),
    PORT: '0',
    // In process the server logs to the bench's own output; warnings only.
    LOG_LEVEL: 'warn',
    AUTH_DEV_KEY_FILE: options.devKeyFile,
    SEED_CATALOG: 'false',
  });
  const dataSource = await createDataSource(config.database, { logger: counter }).initialize();
  // As src/main.ts wires it, without background jobs: every statement counted during a request is the request's.
  const { app, stop } = await startSubgraph(config, dataSource, createLogger(config), {
    backgroundJobs: false,
  });
  const pool = openPool(options.databaseUrl, 10);
  const token = await ctx.token('bench-reader', ['entitlements:read']);

  const request = async (users: string[]) => {
    const body = JSON.stringify({
      query: ENTITIES_QUERY,
      variables: { representations: users.map((id) => ({ __typename: 'User', id })) },
    });
    counter.count = 0;
    const start = now();
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    });
    const text = await response.text();
    const ms = now() - start;
    const statements = counter.count;
    const parsed = JSON.parse(text) as {
      data?: { _entities: { entitlements: unknown[] }[] };
      errors?: unknown;
    };
    if (response.status !== 200 || parsed.errors || parsed.data?._entities.length !== users.length) {
      throw new Error(`_entities failed (${response.status}): ${text.slice(0, 500)}`);
    }
    return { ms, statements, bytes: text.length };
  };

  /** The same rows by hand: six batched reads, and with `seats` the users' seats and their organizations. */
  const floor = async (users: string[], seats: boolean) => {
    const start = now();
    const at = new Date();
    const personal = [
      pool.query('SELECT * FROM licenses WHERE user_id IN (?)', [users]),
      pool.query(
        'SELECT * FROM grants WHERE user_id IN (?) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
        [users, at],
      ),
      pool.query(
        'SELECT * FROM usage_counters WHERE user_id IN (?) AND (period_start >= ? OR period_start = ?)',
        [users, earliestCurrentPeriodStart(at), new Date(0)],
      ),
      pool.query('SELECT * FROM features ORDER BY `key`'),
      pool.query('SELECT * FROM tiers ORDER BY `rank`, `key`'),
      pool.query('SELECT * FROM tier_entitlements ORDER BY feature_key'),
    ];
    const read = await Promise.all(seats ? [...personal, ...seatReads(pool, users, at)] : personal);
    const [licenses, grants, counters, features, tiers, entries, ...organizations] = read.map(
      ([rows]) => rows,
    );
    const text = JSON.stringify({ licenses, grants, counters, features, tiers, entries, organizations });
    return { ms: now() - start, bytes: text.length, grants: (grants as unknown[]).length };
  };

  /** N users' requests alternating with floor runs, after a warm-up. */
  const measure = async (users: string[], seats: boolean): Promise<Measured> => {
    for (let i = 0; i < WARMUP; i += 1) {
      await request(users);
      await floor(users, seats);
    }
    const result: Measured = { server: [], floor: [], statements: [], bytes: 0 };
    for (let i = 0; i < ITERATIONS; i += 1) {
      const r = await request(users);
      result.server.push(r.ms);
      result.statements.push(r.statements);
      result.bytes = r.bytes;
      result.floor.push((await floor(users, seats)).ms);
    }
    ctx.log(
      `  entities N=${users.length}${seats ? ' with seats' : ''}: server p50 ${fmt.ms(
        summarize(result.server).p50,
      )}, floor p50 ${fmt.ms(summarize(result.floor).p50)}, statements ${distinct(result.statements).join('/')}`,
    );
    return result;
  };

  try {
    const measured: Record<number, Measured> = {};
    const withSeats: Record<number, Measured> = {};
    for (const size of SIZES) {
      measured[size] = await measure(ctx.seeded.users.slice(0, size), false);
      withSeats[size] = await measure(ctx.seeded.seatedUsers.slice(0, size), true);
    }

    if (options.profile) {
      const users = ctx.seeded.users.slice(0, SIZES[0]);
      const session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
      for (let i = 0; i < ITERATIONS; i += 1) await request(users);
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      ctx.saveProfile('entities-server', profile);
    }

    const big = measured[SIZES[0]];
    const small = measured[SIZES[1]];
    const bigServer = summarize(big.server);
    const bigFloor = summarize(big.floor);
    const smallServer = summarize(small.server);
    const smallFloor = summarize(small.floor);
    const statementsBig = distinct(big.statements);
    const statementsSmall = distinct(small.statements);
    const constant =
      statementsBig.length === 1 && statementsSmall.length === 1 && statementsBig[0] === statementsSmall[0];
    const maxStatements = Math.max(...statementsBig, ...statementsSmall);
    const p50Ratio = bigServer.p50 / bigFloor.p50;
    const seatsServer = summarize(withSeats[SIZES[0]].server);
    const seatsFloor = summarize(withSeats[SIZES[0]].floor);
    const seatsRatio = seatsServer.p50 / seatsFloor.p50;
    const seatStatements = SIZES.map((size) => distinct(withSeats[size].statements));
    // No statement per organization or seat: the same count with seats as without, whatever N.
    const seatsConstant =
      distinct([...big.statements, ...small.statements, ...seatStatements.flat()]).length === 1;

    const checks: Check[] = [
      {
        measure: `p50 latency, N=${SIZES[0]}`,
        value: fmt.ms(bigServer.p50),
        reference: fmt.ms(bigFloor.p50),
        ratio: fmt.ratio(p50Ratio),
        target: '≤ 3× floor',
        met: p50Ratio <= 3,
      },
      {
        measure: `p50 latency, N=${SIZES[0]}, seats in 1-3 organizations each`,
        value: fmt.ms(seatsServer.p50),
        reference: fmt.ms(seatsFloor.p50),
        ratio: fmt.ratio(seatsRatio),
        target: '≤ 3× floor',
        met: seatsRatio <= 3,
      },
      {
        measure: `p99 latency, N=${SIZES[0]}`,
        value: fmt.ms(bigServer.p99),
        reference: fmt.ms(bigFloor.p99),
        ratio: fmt.ratio(bigServer.p99 / bigFloor.p99),
        target: '',
        met: null,
      },
      {
        measure: `SQL statements per request, N=${SIZES[0]} / N=${SIZES[1]}`,
        value: `${statementsBig.join('/')} / ${statementsSmall.join('/')}`,
        reference: '6 (the floor)',
        ratio: '',
        target: '≤ 6, constant in N',
        met: constant && maxStatements <= 6,
      },
      {
        measure: `SQL statements with seats, N=${SIZES[0]} / N=${SIZES[1]}`,
        value: seatStatements.map((values) => values.join('/')).join(' / '),
        reference: '10 (the floor)',
        ratio: '',
        target: 'as without seats',
        met: seatsConstant,
      },
      {
        measure: `p50 latency, N=${SIZES[1]}`,
        value: fmt.ms(smallServer.p50),
        reference: fmt.ms(smallFloor.p50),
        ratio: fmt.ratio(smallServer.p50 / smallFloor.p50),
        target: '',
        met: null,
      },
    ];
    return {
      name: 'entities',
      title: '1. Entity batch',
      checks,
      data: {
        ...sizeData(measured),
        seats: sizeData(withSeats),
      },
      notes: [
        `one POST of \`_entities\` for ${SIZES[0]} (and ${SIZES[1]}) users (tier, a trial for every other user, ` +
          `3 grants, usage counters), selecting tier, entitlements { feature limit used remaining } and ` +
          `hasEntitlement; ${ITERATIONS} requests after ${WARMUP} warm-up ones, one after another, ` +
          `each followed by one floor run. Server in the bench process (statements counted by a TypeORM logger, ` +
          `no background reads); latency as the client sees it (HTTP on loopback included). Floor: six batched ` +
          `mysql2 queries (licenses, grants, usage counters, features, tiers, tier entitlements) in parallel on a ` +
          `pool of 10, rows JSON-serialized (no HTTP, no GraphQL, no rules).`,
        `with seats: the same query for ${SIZES[0]} (and ${SIZES[1]}) other users with the same personal data, each ` +
          `holding seats in 1 to 3 of 30 organizations (pro or enterprise, each with a grant of a pooled meter and ` +
          `every other one sso; 2,000 seats), against its own floor: the six reads above plus the users' held seats ` +
          `and their organizations' licenses, grants and pooled counters (four more reads, in parallel).`,
      ],
    };
  } finally {
    await stop();
    await pool.end();
    await dataSource.destroy();
  }
}

function sizeData(measured: Record<number, Measured>): Record<string, unknown> {
  const stats = (values: number[]) =>
    Object.fromEntries(Object.entries(summarize(values)).map(([key, value]) => [key, round(value, 3)]));
  return Object.fromEntries(
    SIZES.map((size) => [
      `n${size}`,
      {
        serverMs: stats(measured[size].server),
        floorMs: stats(measured[size].floor),
        statements: distinct(measured[size].statements),
        responseBytes: measured[size].bytes,
      },
    ]),
  );
}

/** Reads of the users' held seats and of those seats' organizations: license, live grants, pooled counters. */
function seatReads(pool: Pool, users: string[], at: Date) {
  const organizations = 'SELECT organization_id FROM seats WHERE user_id IN (?) AND held = 1';
  return [
    pool.query('SELECT * FROM seats WHERE user_id IN (?) AND held = 1 ORDER BY id', [users]),
    pool.query(`SELECT * FROM organization_licenses WHERE organization_id IN (${organizations})`, [users]),
    pool.query(
      `SELECT * FROM grants WHERE organization_id IN (${organizations})
       AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
      [users, at],
    ),
    pool.query(
      `SELECT * FROM organization_usage_counters WHERE organization_id IN (${organizations})
       AND (period_start >= ? OR period_start = ?)`,
      [users, earliestCurrentPeriodStart(at), new Date(0)],
    ),
  ];
}
