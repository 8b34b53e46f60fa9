import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns';
import { lookup as lookupAll } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

import type { ApolloServerPluginSubscriptionCallbackOptions } from '@apollo/server/plugin/subscriptionCallback';

import { isNonPublicAddress } from './address-policy';

export const OUTBOUND_TIMEOUT_MS = 10_000;

type Fetcher = NonNullable<ApolloServerPluginSubscriptionCallbackOptions['fetcher']>;
type FetcherResponse = Awaited<ReturnType<Fetcher>>;

export type PostResult = { statusCode: number } | { error: string };

/** Whether outbound requests may reach loopback and private addresses (development), and how long they wait. */
export interface OutboundPolicy {
  allowPrivate: boolean;
  timeoutMs?: number;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * Resolves like `dns.lookup`, but refuses non-public addresses. Checking the address actually connected to
 * (not only the one seen when a URL was accepted) closes the DNS-rebinding hole.
 */
function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => isNonPublicAddress(entry.address));
    if (refused) {
      return callback(
        new Error(`refused: ${hostname} resolves to the non-public address ${refused.address}`),
        [],
      );
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Whether every address `url`'s host is or resolves to is public; `null` when it does not resolve. For
 * refusing a URL when it is given; each request checks again when it connects.
 */
export async function hostIsPublic(url: URL): Promise<boolean | null> {
  const host = hostOf(url);
  if (isIP(host)) return !isNonPublicAddress(host);
  const addresses = await lookupAll(host, { all: true }).catch(() => null);
  if (addresses === null || addresses.length === 0) return null;
  return !addresses.some((entry) => isNonPublicAddress(entry.address));
}

/**
 * POSTs `body` once and resolves with the status line: the response body is not read (a receiver that
 * trickles it cannot hold the request), and the whole request, connecting included, has one deadline.
 * Redirects are never followed: only the URL itself answers. Without `allowPrivate`, non-public
 * addresses are refused, as IP literals and as whatever a name resolves to.
 */
export function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  policy: OutboundPolicy,
): Promise<PostResult> {
  const target = new URL(url);
  const host = hostOf(target);
  // An IP literal is connected to without any lookup, so it is checked here.
  if (!policy.allowPrivate && isIP(host) && isNonPublicAddress(host)) {
    return Promise.resolve({ error: `refused: ${host} is a non-public address` });
  }
  const timeoutMs = policy.timeoutMs ?? OUTBOUND_TIMEOUT_MS;
  const requestOptions: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    // Each request on a connection of its own: nothing is left open for a slow receiver to hold.
    agent: false,
    lookup: policy.allowPrivate ? undefined : (publicOnlyLookup as RequestOptions['lookup']),
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const request = send(target, requestOptions, (response) => {
      resolve({ statusCode: response.statusCode ?? 0 });
      response.destroy();
    });
    const deadline = setTimeout(
      () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    request.on('close', () => clearTimeout(deadline));
    request.on('error', (error) => resolve({ error: error.message }));
    request.end(body);
  });
}

/**
 * A `fetch` for Apollo's subscription callback plugin with the same rules as webhooks: POST only through
 * `postOnce` (no redirects, non-public addresses refused, one deadline). Only the status reaches the
 * plugin, which reads nothing else; a refused or failed request rejects, as `fetch` does.
 */
export function outboundFetcher(policy: OutboundPolicy): Fetcher {
  return async (url, init) => {
    const body = typeof init?.body === 'string' ? init.body : (init?.body?.toString('utf8') ?? '');
    const result = await postOnce(url, init?.headers ?? {}, body, policy);
    if ('error' in result) throw new Error(result.error);
    return statusOnly(url, result.statusCode);
  };
}

function statusOnly(url: string, status: number): FetcherResponse {
  const response = new Response(null, { status: status >= 200 && status <= 599 ? status : 502 });
  Object.defineProperty(response, 'url', { value: url });
  return response as unknown as FetcherResponse;
}
