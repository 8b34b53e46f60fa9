import 'reflect-metadata';

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { printSubgraphSdl } from '../../src/graphql/schema';

describe('schema.graphql', () => {
  it('is what the code generates (run `npm run schema` after changing the API)', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(committed).toBe(`${await printSubgraphSdl()}\n`);
  });
});
