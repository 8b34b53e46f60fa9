import type { Caller } from '../auth/caller';
import type { EventFeed } from '../events';
import type { Services } from '../services';
import { Loaders } from './loaders';

/** What every resolver receives: who calls, the services, the live event feed, and this request's loaders. */
export interface RequestContext {
  caller: Caller;
  services: Services;
  feed: EventFeed;
  loaders: Loaders;
}

export function createRequestContext(services: Services, feed: EventFeed, caller: Caller): RequestContext {
  return { caller, services, feed, loaders: new Loaders(services, caller) };
}
