import type { IncomingMessage, ServerResponse } from 'node:http';

import type { ApolloServer, HTTPGraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';

import type { RequestContext } from '../graphql/context';
import type { Logger } from '../logger';
import { logUnexpectedError } from './errors';
import type { Exchange, Handler } from './http-routes';
import { BodyError, readJsonBody, refuseBody } from './json-body';
import { refuseUnlessFromRouter } from './router-secret';

/**
 * GraphQL over HTTP: Apollo Server's own request handling (CSRF prevention, GET and POST, content
 * negotiation, incremental delivery) on Node's request and response, without a framework in between.
 * With a router secret, a request without it is refused before its body is read.
 */
export function graphqlHttp(options: {
  apollo: ApolloServer<RequestContext>;
  routerSecret: string | undefined;
  context: (req: IncomingMessage, exchange: Exchange) => Promise<RequestContext>;
  logger: Logger;
}): Handler {
  const { apollo, routerSecret, context, logger } = options;
  return async (req, res, exchange) => {
    if (routerSecret && refuseUnlessFromRouter(routerSecret, req, res)) return;
    let body: unknown;
    try {
      body = await readJsonBody(req);
    } catch (error) {
      if (error instanceof BodyError) return refuseBody(res, error);
      throw error;
    }
    const operationName = (body as { operationName?: unknown } | undefined)?.operationName;
    if (typeof operationName === 'string') exchange.operationName = operationName;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method?.toUpperCase() ?? 'GET',
        headers: headerMap(req),
        search: query < 0 ? '' : url.slice(query),
        body,
      },
      // Apollo answers a context that failed (masked), but tells no plugin which request it was.
      context: () =>
        context(req, exchange).catch((error: unknown) => {
          logUnexpectedError(logger, error, exchange.id);
          throw error;
        }),
    });
    await write(res, response);
  };
}

function headerMap(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function write(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.setHeader('content-length', Buffer.byteLength(response.body.string));
    res.end(response.body.string);
    return;
  }
  // Incremental delivery (multipart/mixed): each part as soon as it is ready.
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
