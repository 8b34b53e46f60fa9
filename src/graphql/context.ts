import type { Caller } from '../auth/caller';
import type { EventFeed } from '../events';
import type { Services } from '../services';
import { Loaders } from './loaders';

/**
 * What every resolver receives: who calls, the services, the live event feed, and this request's loaders;
 * over HTTP also the request's id, for the lines logged about it.
 */
export interface RequestContext {
  caller: Caller;
  services: Services;
  feed: EventFeed;
  loaders: Loaders;
  requestId?: string;
}

export function createRequestContext(
  services: Services,
  feed: EventFeed,
  caller: Caller,
  requestId?: string,
): RequestContext {
  return { caller, services, feed, loaders: new Loaders(services, caller), requestId };
}
