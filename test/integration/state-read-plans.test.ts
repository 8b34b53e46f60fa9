import { createTestCatalog } from '../testkit/catalog';
import { describeOnMysql } from '../testkit/database';
import {
  assignSeats,
  createOrganizationCatalog,
  grantToOrganization,
  setOrganizationLicense,
} from '../testkit/organizations';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

/**
 * A state read (every entitlement check, `_entities` and recordUsage) finds the grants of the users'
 * organizations by the organization index, with the database's own estimates: most grants are users' own,
 * with no organization, and once that made MariaDB read every grant in the table for each metering transaction
 * (the recordUsageBatch case failed before its fix).
 */
describeOnMysql('the plan of a state read', () => {
  let server: TestServer;
  const users = ['plan-member', ...Array.from({ length: 26 }, (_, i) => `plan-user-${i + 1}`)];

  beforeAll(async () => {
    server = await startTestServer({ backgroundJobs: false });
    await createTestCatalog(server);
    await createOrganizationCatalog(server);
    await setOrganizationLicense(server, 'plan-org', 'starter');
    await assignSeats(server, 'plan-org', ['plan-member']);
    await grantToOrganization(server, { organizationId: 'plan-org', feature: 'sso' });
    // Users' own grants, as in any real table: 3,000 of them, none of an organization.
    await server.dataSource.query(
      `INSERT INTO grants (id, user_id, feature_key, limit_amount, starts_at, granted_by, created_at)
       ${upTo(3000)} SELECT CONCAT('plan-grant-', n), CONCAT('plan-user-', n), 'api', 10, NOW(3), 'test', NOW(3)
       FROM numbers`,
    );
    await addOtherOrganizations(60);
  });
  afterAll(() => server.stop());

  const operations: [string, string, Record<string, unknown>][] = [
    [
      '`_entities`',
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { hasEntitlement(feature: "sso") } } }',
      { r: users.map((id) => ({ __typename: 'User', id })) },
    ],
    [
      'recordUsageBatch',
      'mutation($inputs: [RecordUsageInput!]!) { recordUsageBatch(inputs: $inputs) { allowed } }',
      { inputs: users.map((userId) => ({ userId, feature: 'api' })) },
    ],
  ];

  it.each(operations)(
    "%s reads members' organization grants through an index, not by a scan of every grant",
    async (_name, operation, variables) => {
      expectOrganizationGrantsByIndex(await organizationGrantsPlan(operation, variables));
    },
  );

  it('still reads only the members’ organizations’ grants once organizations have thousands of grants', async () => {
    await addOtherOrganizations(3000);
    const [, operation, variables] = operations[1];
    expectOrganizationGrantsByIndex(await organizationGrantsPlan(operation, variables));
  });

  /** `count` grants of other organizations, and as many seats in them, none held by a user the tests read. */
  async function addOtherOrganizations(count: number): Promise<void> {
    const organization = `CONCAT('plan-org-', ${count}, '-', n MOD ${Math.ceil(count / 2)})`;
    await server.dataSource.query(
      `INSERT INTO grants (id, organization_id, feature_key, starts_at, granted_by, created_at)
       ${upTo(count)} SELECT CONCAT('plan-org-grant-', ${count}, '-', n), ${organization}, 'audit', NOW(3),
       'test', NOW(3) FROM numbers`,
    );
    await server.dataSource.query(
      `INSERT INTO seats (organization_id, user_id, assigned_at, assigned_by, assigned_event_id, held)
       ${upTo(count)} SELECT ${organization}, CONCAT('plan-holder-', ${count}, '-', n), NOW(3), 'test', 0, 1
       FROM numbers`,
    );
    await server.dataSource.query('ANALYZE TABLE grants, seats');
  }

  /** The plan of the statement that reads organizations' grants, as `operation` sent it. */
  async function organizationGrantsPlan(operation: string, variables: Record<string, unknown>) {
    const sent: { query: string; parameters: unknown[] }[] = [];
    server.queries.recorded = sent;
    try {
      dataOf(await server.gql(operation, variables));
    } finally {
      server.queries.recorded = null;
    }
    const [statement] = sentStatements(sent).filter(({ sql }) =>
      /FROM grants WHERE organization_id/.test(sql),
    );
    expect(statement).toBeDefined();
    const plan: PlanStep[] = await server.dataSource.query(`EXPLAIN ${statement.sql}`, statement.parameters);
    return plan;
  }
});

interface PlanStep {
  table: string;
  key: string | null;
  rows: string;
}

/**
 * The union's second part, on `grants`: through an index (the organizations', or the features' when that is more
 * selective), a few rows: neither every grant nor every organization's.
 */
function expectOrganizationGrantsByIndex(plan: PlanStep[]): void {
  const organizationGrants = plan.filter((step) => step.table === 'grants')[1];
  expect(organizationGrants.key).not.toBeNull();
  expect(Number(organizationGrants.rows)).toBeLessThanOrEqual(100);
}

/**
 * The statements of the queries sent, each with its own parameters (a batch sends several in one query, its
 * parameters in order: every value is bound, so each `?` is one).
 */
function sentStatements(sent: { query: string; parameters: unknown[] }[]) {
  return sent.flatMap(({ query, parameters }) => {
    const statements = query.split(/;\s*\n/);
    const counts = statements.map((sql) => sql.split('?').length - 1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(parameters.length);
    let next = 0;
    return statements.map((sql, i) => {
      next += counts[i];
      return { sql, parameters: parameters.slice(next - counts[i], next) };
    });
  });
}

/** A `numbers` table of 1 to `count` (at most 10,000) for an INSERT ... SELECT, on MariaDB and MySQL alike. */
function upTo(count: number): string {
  const digits = Array.from({ length: 10 }, (_, i) => `SELECT ${i} AS d`).join(' UNION ALL ');
  return `WITH digits AS (${digits}), numbers AS (
    SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM digits a, digits b, digits c, digits e
    WHERE a.d + 10 * b.d + 100 * c.d + 1000 * e.d < ${count})`;
}
