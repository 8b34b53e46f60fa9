import { randomUUID } from 'node:crypto';

import type { JWK } from 'jose';
import { SignJWT } from 'jose';

import { assertCanReadUser } from '../auth/access';
import type { Caller } from '../auth/caller';
import type { LicenseView } from '../domain/effective';
import { licenseTokenClaims } from '../domain/license-token';
import {
  checkOrganizationId,
  checkRequiredText,
  checkTokenTtl,
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_AUDIENCE_LENGTH,
} from '../domain/validation';
import type { LicenseKeyRing } from './license-keys';

/** The JWS `typ` of a license token, so that a verifier can tell it from an access token (RFC 8725, 3.11). */
export const LICENSE_TOKEN_TYPE = 'license+jwt';

export interface LicenseTokenRequest {
  ttlSeconds?: number | null;
  audience?: string | null;
  organizationId?: string | null;
}

export interface IssuedLicenseToken {
  token: string;
  expiresAt: Date;
}

/** Reads the license view a token is made from (the request's batched read, the one every User field uses). */
export type ReadLicenseView = (organizationId: string | null) => Promise<LicenseView>;

/** Signed license tokens: the claims come from the domain, the keys from the key ring. */
export class LicenseTokenService {
  constructor(
    private readonly keys: LicenseKeyRing,
    private readonly issuer: string,
  ) {}

  /** Every key's public half (the first signs): what /.well-known/jwks.json serves. */
  get publicKeys(): JWK[] {
    return this.keys.publicKeys;
  }

  async issue(
    caller: Caller,
    userId: string,
    request: LicenseTokenRequest,
    readView: ReadLicenseView,
  ): Promise<IssuedLicenseToken> {
    assertCanReadUser(caller, userId);
    const ttlSeconds = checkTokenTtl(request.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
    const audience =
      request.audience === null || request.audience === undefined
        ? null
        : checkRequiredText(request.audience, 'audience', MAX_AUDIENCE_LENGTH);
    const organizationId =
      request.organizationId === null || request.organizationId === undefined
        ? null
        : checkOrganizationId(request.organizationId);
    const view = await readView(organizationId);
    const claims = licenseTokenClaims(view, { issuer: this.issuer, audience, ttlSeconds, jti: randomUUID() });
    const { key, kid, alg } = this.keys.signer;
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg, kid, typ: LICENSE_TOKEN_TYPE })
      .sign(key);
    return { token, expiresAt: new Date(claims.exp * 1000) };
  }
}
