import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

const METRICS_TOKEN = 'metrics-token-7c1e9a';

/** The operation names that label request timings. */
function operationLabels(metrics: string): Set<string> {
  return new Set(
    [...metrics.matchAll(/graphql_request_duration_seconds_count\{[^}]*operation_name="([^"]+)"/g)].map(
      (match) => match[1],
    ),
  );
}

describe('/metrics', () => {
  let server: TestServer;
  let metricsUrl: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { METRICS_TOKEN } });
    metricsUrl = server.url.replace(/\/graphql$/, '/metrics');
  });
  afterAll(() => server.stop());

  const scrape = (authorization?: string) =>
    fetch(metricsUrl, { headers: authorization ? { authorization } : {} });

  it('answers 401 without the metrics token, or with another one', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${METRICS_TOKEN.slice(0, -1)}`,
      `Bearer ${METRICS_TOKEN}x`,
      METRICS_TOKEN,
      `Basic ${METRICS_TOKEN}`,
    ]) {
      const response = await scrape(authorization);
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('graphql_');
    }
  });

  it.each(['Bearer', 'bearer', 'BEARER'])(
    'serves the metrics for `Authorization: %s <METRICS_TOKEN>` (the scheme is case-insensitive)',
    async (scheme) => {
      const response = await scrape(`${scheme} ${METRICS_TOKEN}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('# TYPE process_cpu_seconds_total counter');
    },
  );

  it('takes no operation name of a caller without a valid token as a label', async () => {
    for (let i = 0; i < 210; i += 1) await server.gqlAs(null, `query Spam${i} { __typename }`);
    await server.gqlAs('not-a-token', 'query SpamWithBadToken { __typename }');
    await server.gql('query Named { __typename }');
    const labels = operationLabels(await (await scrape(`Bearer ${METRICS_TOKEN}`)).text());
    expect([...labels].filter((label) => label.startsWith('Spam'))).toEqual([]);
    expect(labels).toContain('unauthenticated');
    // The bounded set of names is still there for callers with a token.
    expect(labels).toContain('Named');
  });
});
