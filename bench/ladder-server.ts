/**
 * A rung of the hot scenario's ladder (bench/README.md): the least an authenticated GraphQL answer costs on
 * this machine, one layer at a time. `node -r @swc-node/register bench/ladder-server.ts <rung>`, listening on
 * PORT; every rung reads the whole request body and answers `{ __typename }`'s result.
 *
 *   bare     node:http answering a fixed JSON body
 *   jwt      bare + the bearer token verified on every request (jose's jwtVerify against AUTH_JWKS_URL, with
 *            AUTH_ISSUER and AUTH_AUDIENCE when set: the subgraph's checks, without its cache of verified tokens)
 *   graphql  jwt + graphql-js executing the body's query, parsed and validated once per distinct query
 */
import http from 'node:http';

import type { DocumentNode } from 'graphql';
import { buildSchema, execute, parse, validate } from 'graphql';
import { createRemoteJWKSet, jwtVerify } from 'jose';

import { ALLOWED_ALGORITHMS } from '../src/auth/token-verifier';

export const RUNGS = ['bare', 'jwt', 'graphql'] as const;
export type Rung = (typeof RUNGS)[number];

const ANSWER = JSON.stringify({ data: { __typename: 'Query' } });
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
type Handler = (body: string, authorization: string | undefined) => Promise<string | null>;

function verifier(env: NodeJS.ProcessEnv): (authorization: string | undefined) => Promise<boolean> {
  const keys = createRemoteJWKSet(new URL(env.AUTH_JWKS_URL as string));
  const options = {
    algorithms: ALLOWED_ALGORITHMS,
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    clockTolerance: 5,
    requiredClaims: ['sub', 'exp'],
  };
  return async (authorization) => {
    const match = /^bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!match) return false;
    return jwtVerify(match[1], keys, options).then(
      () => true,
      () => false,
    );
  };
}

function graphqlHandler(): (body: string) => Promise<string> {
  const schema = buildSchema('type Query { ok: Boolean }');
  const documents = new Map<string, DocumentNode>();
  return async (body) => {
    const { query } = JSON.parse(body) as { query: string };
    let document = documents.get(query);
    if (!document) {
      document = parse(query);
      const errors = validate(schema, document);
      if (errors.length > 0) return JSON.stringify({ errors });
      documents.set(query, document);
    }
    return JSON.stringify(await execute({ schema, document }));
  };
}

/** The rung's answer to a request, or null to refuse it (401). */
function handlerFor(rung: Rung, env: NodeJS.ProcessEnv): Handler {
  if (rung === 'bare') return async () => ANSWER;
  const verify = verifier(env);
  if (rung === 'jwt') return async (_body, authorization) => ((await verify(authorization)) ? ANSWER : null);
  const run = graphqlHandler();
  return async (body, authorization) => ((await verify(authorization)) ? run(body) : null);
}

function main(): void {
  const rung = process.argv[2] as Rung;
  if (!RUNGS.includes(rung)) throw new Error(`usage: ladder-server.ts ${RUNGS.join('|')}`);
  const handle = handlerFor(rung, process.env);
  const server = http.createServer((req, res) => {
    // Readiness for the bench's process helper, as the subgraph answers it.
    if (req.url === '/readyz') {
      res.end('ok');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(Buffer.concat(chunks).toString('utf8'), req.headers.authorization).then(
        (answer) => {
          res.writeHead(answer === null ? 401 : 200, JSON_HEADERS);
          res.end(answer ?? '{"errors":[{"message":"unauthenticated"}]}');
        },
        (error: unknown) => {
          res.writeHead(500, JSON_HEADERS);
          res.end(JSON.stringify({ errors: [{ message: String(error) }] }));
        },
      );
    });
  });
  server.listen(Number(process.env.PORT), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main();
