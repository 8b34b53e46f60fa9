import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

import { sendJson } from './http-routes';

/** The most a request body may hold, as sent and once inflated. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A request body that cannot be read as JSON: answered with this HTTP status by {@link refuseBody}. */
export class BodyError extends Error {
  constructor(readonly status: 400 | 413 | 415) {
    super(BODY_PROBLEMS[status][0]);
    this.name = 'BodyError';
  }
}

const BODY_PROBLEMS: Record<BodyError['status'], [message: string, code: string]> = {
  400: ['The request body is not valid JSON', 'BAD_REQUEST'],
  413: ['The request body exceeds 1 MiB', 'GRAPHQL_VALIDATION_FAILED'],
  415: ['Unsupported charset or Content-Encoding: send JSON in UTF-8 (gzip, deflate or br)', 'BAD_REQUEST'],
};

/**
 * What is read and dropped of a refused body before the answer, so that a client still sending hears it
 * rather than a reset connection; past this the rest is not read, and the connection closes after the answer.
 */
const MAX_DRAINED_BYTES = MAX_BODY_BYTES;

/** A GraphQL-shaped JSON answer with the status, never an HTML error page. */
export function refuseBody(res: ServerResponse, error: BodyError): void {
  const [message, code] = BODY_PROBLEMS[error.status];
  const unread = res.req.complete ? undefined : { connection: 'close' };
  sendJson(res, error.status, { errors: [{ message, extensions: { code } }] }, unread);
}

const INFLATERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The JSON object or array of an `application/json` body (UTF-8, possibly gzip, deflate or br), as Express's
 * JSON parser read it: `undefined` when the request has no body or another content type (Apollo then refuses
 * it, or CSRF prevention does), `{}` for an empty body. Rejects with a {@link BodyError}; of a body that is
 * too large, up to another MiB is read and dropped first, so that the client hears the answer instead of a
 * reset connection (a client that sends on and on gets it with the connection closed).
 */
export function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const { headers } = req;
  const hasBody = headers['transfer-encoding'] !== undefined || headers['content-length'] !== undefined;
  const type = headers['content-type'];
  if (!hasBody || !type || mediaType(type) !== 'application/json') return Promise.resolve(undefined);
  const charset = CHARSET.exec(type)?.[1].toLowerCase();
  if (charset !== undefined && charset !== 'utf-8') return Promise.reject(new BodyError(415));
  const encoding = headers['content-encoding']?.toLowerCase() ?? 'identity';
  if (encoding !== 'identity' && !INFLATERS[encoding]) return Promise.reject(new BodyError(415));
  if (encoding === 'identity' && Number(headers['content-length']) > MAX_BODY_BYTES) {
    return drained(req).then(() => Promise.reject(new BodyError(413)));
  }
  return new Promise((resolve, reject) => {
    const inflater = encoding === 'identity' ? undefined : INFLATERS[encoding]();
    const stream: Readable = inflater ? req.pipe(inflater) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: BodyError) => {
      if (failed) return;
      failed = true;
      if (inflater) {
        req.unpipe(inflater);
        inflater.destroy();
      }
      stream.removeAllListeners('data');
      drained(req).then(() => reject(error), reject);
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) fail(new BodyError(413));
      else chunks.push(chunk);
    });
    if (inflater) {
      // What arrives counts too: compressed blocks that inflate to nothing would otherwise be read for good.
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_BODY_BYTES) fail(new BodyError(413));
      });
    }
    // A stream that is not gzip (or deflate, br) fails to inflate: the body is not JSON either.
    stream.once('error', () => fail(new BodyError(400)));
    // A client that hangs up mid-body: `pipe` does not end the inflater, which would wait for good.
    req.once('close', () => {
      if (!req.complete) fail(new BodyError(400));
    });
    stream.once('end', () => {
      if (failed) return;
      try {
        resolve(parseJson(Buffer.concat(chunks, size).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** `type/subtype` of a Content-Type header, in lower case. */
function mediaType(contentType: string): string {
  const end = contentType.indexOf(';');
  return (end < 0 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/** Express's strict parser: an object or an array; an empty body reads as `{}`; a byte order mark is dropped. */
function parseJson(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.length === 0) return {};
  // JSON's whitespace: space, tab, line feed, carriage return.
  const first = /^[ \t\n\r]*(.)/.exec(body)?.[1];
  if (first !== '{' && first !== '[') throw new BodyError(400);
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new BodyError(400);
  }
}

/** Resolves once the rest of the request has been read and dropped, or MAX_DRAINED_BYTES of it. */
function drained(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let dropped = 0;
    const dropping = (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped <= MAX_DRAINED_BYTES) return;
      req.off('data', dropping);
      req.pause();
      resolve();
    };
    req.on('data', dropping);
    req.once('end', resolve);
    req.once('close', resolve);
    // Unpiped from an inflater, the request is paused, and a 'data' listener alone does not restart it.
    req.resume();
  });
}
