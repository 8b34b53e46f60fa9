import { lookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import { isIP } from 'node:net';

import { isNonPublicAddress } from '../domain/webhooks';

export const WEBHOOK_TIMEOUT_MS = 10_000;

export type SendResult = { statusCode: number } | { error: string };

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * Resolves like `dns.lookup`, but refuses loopback and private addresses. Checking the address actually
 * connected to (not only the one seen when the endpoint was created) closes the DNS-rebinding hole.
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

/**
 * POSTs one delivery and resolves with the status line: the body is not read (a receiver that trickles it
 * cannot hold the attempt), and the whole attempt, connecting included, has one deadline. Redirects are not
 * followed: only a 2xx from the URL itself counts.
 */
export function sendWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { allowPrivate: boolean; timeoutMs?: number },
): Promise<SendResult> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  // An IP literal is connected to without any lookup, so it is checked here.
  if (!options.allowPrivate && isIP(host) && isNonPublicAddress(host)) {
    return Promise.resolve({ error: `refused: ${host} is a non-public address` });
  }
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const requestOptions: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    // Each attempt on a connection of its own: nothing is left open for a slow receiver to hold.
    agent: false,
    lookup: options.allowPrivate ? undefined : (publicOnlyLookup as RequestOptions['lookup']),
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
