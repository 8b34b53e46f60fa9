import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import express from 'express';

import { isDatabaseUnavailable } from '../db/connection-errors';
import { errorDocument, ScimError } from '../domain/scim/errors';
import type { Projection } from '../domain/scim/resources';
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
  resourceRoutes(router, '/Users', userResource, {
    list: (client, query) => scim.users(client, query).then(({ total, users }) => ({ total, found: users })),
    read: (client, id) => scim.user(client, id),
    create: (client, body) => scim.createUser(client, body),
    replace: (client, id, body) => scim.replaceUser(client, id, body),
    patch: (client, id, body) => scim.patchUser(client, id, body),
    remove: (client, id) => scim.deleteUser(client, id),
  });
  resourceRoutes(router, '/Groups', groupResource, {
    list: (client, query) =>
      scim.groups(client, query).then(({ total, groups }) => ({ total, found: groups })),
    read: (client, id, projection) => scim.group(client, id, projection),
    create: (client, body) => scim.createGroup(client, body),
    replace: (client, id, body) => scim.replaceGroup(client, id, body),
    patch: (client, id, body) => scim.patchGroup(client, id, body),
    remove: (client, id) => scim.deleteGroup(client, id),
  });

  router.use((req, res) => {
    sendError(res, new ScimError(404, `There is no SCIM endpoint ${req.method} ${req.baseUrl}${req.path}`));
  });
  router.use(scimErrors(logger));
  return router;
}

/** The ScimService's work on one resource type (Users, Groups). */
interface ResourceWork<T> {
  list(client: ScimClient, query: ListQuery): Promise<{ total: number; found: T[] }>;
  /** `projection`: what the answer shows, so that what it leaves out need not be read. */
  read(client: ScimClient, id: string, projection: Projection): Promise<T>;
  create(client: ScimClient, body: JsonObject): Promise<T>;
  replace(client: ScimClient, id: string, body: JsonObject): Promise<T>;
  patch(client: ScimClient, id: string, body: JsonObject): Promise<T>;
  remove(client: ScimClient, id: string): Promise<void>;
}

/**
 * List and create at `path`; read, replace, patch and delete at `path/:id`. Every resource answered is
 * projected by the request's `attributes` and `excludedAttributes`.
 */
function resourceRoutes<T>(
  router: express.Router,
  path: string,
  resource: (found: T, baseUrl: string) => JsonObject,
  work: ResourceWork<T>,
): void {
  const document = (req: Request, found: T, projection = readProjection(req.query)) =>
    project(resource(found, baseUrl(req)), projection);

  router.get(path, async (req, res) => {
    const query = listQuery(req);
    const { total, found } = await work.list(clientOf(res), query);
    const documents = found.map((one) => document(req, one, query.projection));
    send(res, 200, listResponse(documents, total, query.page));
  });
  router.post(path, async (req, res) => {
    created(res, document(req, await work.create(clientOf(res), checkBody(req.body))));
  });
  router.get(`${path}/:id`, async (req, res) => {
    const projection = readProjection(req.query);
    send(res, 200, document(req, await work.read(clientOf(res), req.params.id, projection), projection));
  });
  router.put(`${path}/:id`, async (req, res) => {
    send(res, 200, document(req, await work.replace(clientOf(res), req.params.id, checkBody(req.body))));
  });
  router.patch(`${path}/:id`, async (req, res) => {
    send(res, 200, document(req, await work.patch(clientOf(res), req.params.id, checkBody(req.body))));
  });
  router.delete(`${path}/:id`, async (req, res) => {
    await work.remove(clientOf(res), req.params.id);
    res.status(204).end();
  });
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
  return {
    filter,
    page: readPage(req.query, MAX_PAGE_COUNT, DEFAULT_PAGE_COUNT),
    projection: readProjection(req.query),
  };
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
