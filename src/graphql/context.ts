import type { Caller } from '../auth/caller';
import type { Services } from '../services';
import { Loaders } from './loaders';

/** What every resolver receives: who calls, the services, and this request's loaders. */
export interface RequestContext {
  caller: Caller;
  services: Services;
  loaders: Loaders;
}

export function createRequestContext(services: Services, caller: Caller): RequestContext {
  return { caller, services, loaders: new Loaders(services, caller) };
}
