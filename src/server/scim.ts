import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import express from 'express';

import { isDatabaseUnavailable } from '../db/connection-errors';
import { errorDocument, ScimError } from '../domain/scim/errors';
import {
  groupResource,
  listResponse,
  project,
  readPage,
  readProjection,
  userResource,
} from '../domain/scim/resources';
import {
  DEFAULT_PAGE_COUNT,
  MAX_PAGE_COUNT,
  resourceTypes,
  schemas,
  serviceProviderConfig,
} from '../domain/scim/schemas';
import type { JsonObject } from '../domain/scim/values';
import { checkBody } from '../domain/scim/values';
import type { Logger } from '../logger';
import type { Services } from '../services';
import type { ListQuery } from '../services/scim.service';
import type { ScimClient } from '../services/scim-token.service';
import { answeredRequestId } from './request-id';

/** The most a SCIM request body may hold: a group PUT with thousands of members fits. */
export const MAX_SCIM_BODY = '1mb';
const CONTENT_TYPE = 'application/scim+json';

/**
 * SCIM 2.0 (RFC 7643/7644) at /scim/v2, for identity providers. Every path, discovery included, needs a SCIM
 * token (`Authorization: Bearer scim_...`); the body is read only after it passed. Answers are
 * `application/scim+json` (requests may be `application/json` too), errors are SCIM Error documents. The work
 * is the ScimService's; this only reads requests and writes documents.
 */
export function scimRoutes(services: Services, logger: Logger): express.Router {
  const router = express.Router();
  router.use(authenticate(services));
  router.use(express.json({ type: [CONTENT_TYPE, 'application/json'], limit: MAX_SCIM_BODY }));

  router.get('/ServiceProviderConfig', (req, res) => send(res, 200, serviceProviderConfig(baseUrl(req))));
  router.get('/ResourceTypes', (req, res) => sendAll(res, resourceTypes(baseUrl(req))));
  router.get('/ResourceTypes/:id', (req, res) => sendOne(res, resourceTypes(baseUrl(req)), req.params.id));
  router.get('/Schemas', (req, res) => sendAll(res, schemas(baseUrl(req))));
  router.get('/Schemas/:id', (req, res) => sendOne(res, schemas(baseUrl(req)), req.params.id));

  const scim = services.scim;
  const user = (req: Request, found: Parameters<typeof userResource>[0]) =>
    project(userResource(found, baseUrl(req)), readProjection(req.query));
  const group = (req: Request, found: Parameters<typeof groupResource>[0]) =>
    project(groupResource(found, baseUrl(req)), readProjection(req.query));

  router.get('/Users', async (req, res) => {
    const query = listQuery(req);
    const { total, users } = await scim.users(clientOf(res), query);
    send(
      res,
      200,
      listResponse(
        users.map((found) => user(req, found)),
        total,
        query.page,
      ),
    );
  });
  router.post('/Users', async (req, res) => {
    created(res, user(req, await scim.createUser(clientOf(res), checkBody(req.body))));
  });
  router.get('/Users/:id', async (req, res) => {
    send(res, 200, user(req, await scim.user(clientOf(res), req.params.id)));
  });
  router.put('/Users/:id', async (req, res) => {
    send(res, 200, user(req, await scim.replaceUser(clientOf(res), req.params.id, checkBody(req.body))));
  });
  router.patch('/Users/:id', async (req, res) => {
    send(res, 200, user(req, await scim.patchUser(clientOf(res), req.params.id, checkBody(req.body))));
  });
  router.delete('/Users/:id', async (req, res) => {
    await scim.deleteUser(clientOf(res), req.params.id);
    res.status(204).end();
  });

  router.get('/Groups', async (req, res) => {
    const query = listQuery(req);
    const { total, groups } = await scim.groups(clientOf(res), query);
    send(
      res,
      200,
      listResponse(
        groups.map((found) => group(req, found)),
        total,
        query.page,
      ),
    );
  });
  router.post('/Groups', async (req, res) => {
    created(res, group(req, await scim.createGroup(clientOf(res), checkBody(req.body))));
  });
  router.get('/Groups/:id', async (req, res) => {
    send(res, 200, group(req, await scim.group(clientOf(res), req.params.id)));
  });
  router.put('/Groups/:id', async (req, res) => {
    send(res, 200, group(req, await scim.replaceGroup(clientOf(res), req.params.id, checkBody(req.body))));
  });
  router.patch('/Groups/:id', async (req, res) => {
    send(res, 200, group(req, await scim.patchGroup(clientOf(res), req.params.id, checkBody(req.body))));
  });
  router.delete('/Groups/:id', async (req, res) => {
    await scim.deleteGroup(clientOf(res), req.params.id);
    res.status(204).end();
  });

  router.use((req, res) => {
    sendError(res, new ScimError(404, `There is no SCIM endpoint ${req.method} ${req.baseUrl}${req.path}`));
  });
  router.use(scimErrors(logger));
  return router;
}

function authenticate(services: Services): RequestHandler {
  return async (req, res, next) => {
    const client = await services.scimTokens.authenticate(req.headers.authorization);
    if (client === null) {
      res.setHeader('www-authenticate', 'Bearer realm="SCIM"');
      sendError(res, new ScimError(401, 'A valid SCIM token is required (Authorization: Bearer scim_...)'));
      return;
    }
    res.locals.scimClient = client;
    next();
  };
}

const clientOf = (res: Response) => res.locals.scimClient as ScimClient;

/** The base URL the provider was given, as this request reached it (for `meta.location` and `$ref`). */
const baseUrl = (req: Request) => `${req.protocol}://${req.get('host')}${req.baseUrl}`;

function listQuery(req: Request): ListQuery {
  const { filter } = req.query;
  if (filter !== undefined && typeof filter !== 'string') {
    throw ScimError.badRequest('invalidFilter', 'Give one filter');
  }
  return { filter, page: readPage(req.query, MAX_PAGE_COUNT, DEFAULT_PAGE_COUNT) };
}

function send(res: Response, status: number, document: JsonObject | Record<string, unknown>): void {
  res.status(status).type(CONTENT_TYPE).send(JSON.stringify(document));
}

function created(res: Response, resource: JsonObject): void {
  const { location } = resource.meta as { location: string };
  res.setHeader('location', location);
  send(res, 201, resource);
}

function sendAll(res: Response, documents: Record<string, unknown>[]): void {
  send(res, 200, listResponse(documents as JsonObject[], documents.length, { startIndex: 1, count: 0 }));
}

function sendOne(res: Response, documents: Record<string, unknown>[], id: string): void {
  const found = documents.find((document) => document.id === id);
  if (found) send(res, 200, found);
  else sendError(res, new ScimError(404, `${JSON.stringify(id)} not found`));
}

function sendError(res: Response, error: ScimError): void {
  send(res, error.status, errorDocument(error));
}

/**
 * Errors as SCIM Error documents: the service's, the JSON parser's (malformed, too large), an outage (503, so
 * the provider retries) and anything unexpected (500, logged in full, shown without detail).
 */
const BODY_PROBLEMS: Record<number, string> = {
  400: 'The request body is not valid JSON',
  413: 'The request body exceeds 1 MiB',
  415: 'Unsupported charset or Content-Encoding: send JSON in UTF-8 (gzip, deflate or br)',
};

function scimErrors(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    if (error instanceof ScimError) return sendError(res, error);
    const status = (error as { status?: number }).status;
    if (status !== undefined && status >= 400 && status < 500) {
      const detail = BODY_PROBLEMS[status] ?? BODY_PROBLEMS[400];
      return sendError(res, new ScimError(status, detail, status === 400 ? 'invalidSyntax' : undefined));
    }
    if (isDatabaseUnavailable(error)) {
      return sendError(res, new ScimError(503, 'The database is unavailable; try again shortly'));
    }
    logger.error({ reqId: answeredRequestId(res), err: error }, 'unexpected error in a SCIM request');
    sendError(res, new ScimError(500, 'Internal server error'));
  };
}
