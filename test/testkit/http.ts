import type { GraphQLResponse } from './server';

/** An HTTP reply without the test kit's conveniences: the status and the raw body matter. */
export interface Reply {
  status: number;
  contentType: string | null;
  text: string;
  body: GraphQLResponse | undefined;
}

export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: GraphQLResponse | undefined;
  try {
    body = JSON.parse(text) as GraphQLResponse;
  } catch {
    body = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), text, body };
}

/** A JSON POST; a string payload is sent as it is. */
export function post(
  url: string,
  payload: unknown,
  options: { token?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return send(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

/** Answered: HTTP 200 and no error at all. */
export function expectAnswered(reply: Reply): Record<string, any> {
  expect({ status: reply.status, errors: reply.body?.errors }).toEqual({ status: 200, errors: undefined });
  return reply.body?.data as Record<string, any>;
}

/** Refused before execution: the given status, exactly one error with exactly this code, and no data. */
export function expectRefused(reply: Reply, status: number, code: string): void {
  expect({
    status: reply.status,
    codes: reply.body?.errors?.map((error) => error.extensions?.code),
    data: reply.body?.data ?? null,
  }).toEqual({ status, codes: [code], data: null });
}
