import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
/** Ids from outside are kept only when they are short and plain, so they cannot forge log lines. */
const ACCEPTABLE_ID = /^[\w.:@/+=-]{1,128}$/;

/** The caller's `x-request-id` (a router or load balancer sets one), or a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTABLE_ID.test(given) ? given : randomUUID();
}

/** The id of the request `res` answers, as the transport set it (for handlers that are not told it). */
export function answeredRequestId(res: ServerResponse): string | undefined {
  const id = res.getHeader(REQUEST_ID_HEADER);
  return typeof id === 'string' ? id : undefined;
}
