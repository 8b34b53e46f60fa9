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
 * organizations by the organization index, with MariaDB's own estimates: most grants are users' own, with no
 * organization, and once that made it read every grant in the table for each metering transaction (the
 * recordUsage case failed before its fix, with 3,000 grants).
 */
describeOnMysql('the plan of a state read on MariaDB', () => {
  let server: TestServer;

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
       SELECT CONCAT('plan-grant-', seq), CONCAT('plan-user-', seq), 'api', 10, NOW(3), 'test', NOW(3)
       FROM seq_1_to_3000`,
    );
    // And a few organizations' grants, which do not hold the read up (their organizations hold no seats).
    await server.dataSource.query(
      `INSERT INTO grants (id, organization_id, feature_key, starts_at, granted_by, created_at)
       SELECT CONCAT('plan-org-grant-', seq), CONCAT('plan-org-', seq MOD 40), 'audit', NOW(3), 'test', NOW(3)
       FROM seq_1_to_60`,
    );
    // Seats held by others, in those organizations.
    await server.dataSource.query(
      `INSERT INTO seats (organization_id, user_id, assigned_at, assigned_by, assigned_event_id, held)
       SELECT CONCAT('plan-org-', seq MOD 40), CONCAT('plan-holder-', seq), NOW(3), 'test', 0, 1
       FROM seq_1_to_3000`,
    );
    await server.dataSource.query('ANALYZE TABLE grants, seats');
  });
  afterAll(() => server.stop());

  it.each([
    [
      '`_entities`',
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { hasEntitlement(feature: "sso") } } }',
      (users: string[]) => ({ r: users.map((id) => ({ __typename: 'User', id })) }),
    ],
    [
      'recordUsageBatch',
      'mutation($inputs: [RecordUsageInput!]!) { recordUsageBatch(inputs: $inputs) { allowed } }',
      (users: string[]) => ({ inputs: users.map((userId) => ({ userId, feature: 'api' })) }),
    ],
  ])(
    "%s reads members' organization grants by the organization index, not by a scan of every grant",
    async (_name, operation, variables) => {
      const users = ['plan-member', ...Array.from({ length: 26 }, (_, i) => `plan-user-${i + 1}`)];
      server.queries.recorded = [];
      dataOf(await server.gql(operation, variables(users)));
      const sent = server.queries.recorded;
      server.queries.recorded = null;

      const [statement] = sentStatements(sent).filter(({ sql }) =>
        /FROM grants WHERE organization_id/.test(sql),
      );
      expect(statement).toBeDefined();
      const plan: { table: string; type: string }[] = await server.dataSource.query(
        `EXPLAIN ${statement.sql}`,
        statement.parameters,
      );
      expect(plan.filter((step) => step.table === 'grants')).not.toContainEqual(
        expect.objectContaining({ type: 'ALL' }),
      );
    },
  );
});

/** The statements of the queries sent, each with its own parameters (a batch sends several in one query). */
function sentStatements(sent: { query: string; parameters: unknown[] }[]) {
  return sent.flatMap(({ query, parameters }) => {
    let next = 0;
    return query.split(/;\s*\n/).map((sql) => {
      const count = sql.split('?').length - 1;
      next += count;
      return { sql, parameters: parameters.slice(next - count, next) };
    });
  });
}
