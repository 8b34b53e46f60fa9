import 'reflect-metadata';

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { printSubgraphSdl } from '../graphql/schema';

/**
 * `npm run schema`: rewrites the committed schema.graphql from the code. With `-- --without-auth-directives`,
 * writes schema.without-auth-directives.graphql instead: the SDL served with FEDERATION_AUTH_DIRECTIVES=false.
 */
async function main(): Promise<void> {
  const authDirectives = !process.argv.includes('--without-auth-directives');
  const file = authDirectives ? 'schema.graphql' : 'schema.without-auth-directives.graphql';
  const target = resolve(__dirname, '..', '..', file);
  writeFileSync(target, `${await printSubgraphSdl({ authDirectives })}\n`);
  console.log(`wrote ${target}`);
}

void main();
