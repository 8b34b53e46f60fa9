import type { GraphQLSchema } from 'graphql';

import { buildSubgraph } from '../../src/graphql/schema';
import { DocumentCache } from '../../src/server/websocket';

describe("the WebSocket transport's cache of parsed documents", () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildSubgraph();
  });

  it('counts what a parsed document holds, not its text: 50 documents of 4,900 fields do not all stay', () => {
    const cache = new DocumentCache(schema, []);
    // 20 KB of text each (1 MB in all), parsed into some 400 KB of tree each (20 MB, over the 16 MiB budget).
    const query = (i: number) => `query Q${i} { features { ${'key '.repeat(4900)} } }`;
    const first = cache.get(query(0));
    for (let i = 1; i < 50; i += 1) cache.get(query(i));
    expect(cache.get(query(0))).not.toBe(first);
    // Small documents are kept as before.
    const small = cache.get('{ features { key } }');
    expect(cache.get('{ features { key } }')).toBe(small);
  });
});
