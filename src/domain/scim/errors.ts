/** The `scimType` values of RFC 7644 §3.12 that this service answers with. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * A SCIM answer other than success: the HTTP status, the RFC's `scimType` where one applies, and a detail for the
 * administrator reading the identity provider's provisioning log. Never a GraphQL error: SCIM has its own document.
 */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  static badRequest(scimType: ScimType, detail: string): ScimError {
    return new ScimError(400, detail, scimType);
  }

  static notFound(resource: 'User' | 'Group', id: string): ScimError {
    return new ScimError(404, `${resource} ${JSON.stringify(id)} not found`);
  }
}

/** The Error document of RFC 7644 §3.12; `status` is a string there. */
export function errorDocument(error: ScimError): Record<string, unknown> {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(error.status),
    ...(error.scimType ? { scimType: error.scimType } : {}),
    detail: error.detail,
  };
}
