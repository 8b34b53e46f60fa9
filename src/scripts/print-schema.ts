import 'reflect-metadata';

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { printSubgraphSdl } from '../graphql/schema';

/** `npm run schema`: rewrites the committed schema.graphql from the code. */
async function main(): Promise<void> {
  const target = resolve(__dirname, '..', '..', 'schema.graphql');
  writeFileSync(target, `${await printSubgraphSdl()}\n`);
  console.log(`wrote ${target}`);
}

void main();
