import { randomUUID } from 'node:crypto';

import type { RequestHandler } from 'express';

import { withRequestId } from '../logger';

const REQUEST_ID_HEADER = 'x-request-id';
/** Ids from outside are kept only when they are short and plain, so they cannot forge log lines. */
const ACCEPTABLE_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * Takes the caller's `x-request-id` (a router or load balancer sets one) or makes one, returns it in the
 * response, and keeps it for the rest of the request so that every log line written for it carries it.
 */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && ACCEPTABLE_ID.test(given) ? given : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  withRequestId(id, next);
};
