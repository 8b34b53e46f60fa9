import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

import { IsNull } from 'typeorm';

import { assertCanReadEveryone, assertScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { Database } from '../db/database';
import { ScimTokenRow } from '../db/entities';
import type { ScimUserIdAttribute } from '../domain/scim/resources';
import { isWellFormedText, MAX_USER_ID_LENGTH } from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';

/** Who a SCIM request comes from: its token, which directory the token governs, and how it names identities. */
export interface ScimClient {
  tokenId: string;
  /** Null: the identity directory (licenses of identities); else that organization's directory. */
  organizationId: string | null;
  userIdAttribute: ScimUserIdAttribute;
}

export interface ScimToken {
  id: string;
  organizationId: string | null;
  userIdAttribute: ScimUserIdAttribute;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface CreatedScimToken {
  id: string;
  /** Shown once, in the mutation's answer; only a hash of its secret is stored. */
  token: string;
}

/** `scim_<token id>_<secret>`: the id finds the row, the secret (256 random bits, base64url) proves the bearer. */
const TOKEN_PATTERN = /^scim_([0-9a-f-]{36})_([A-Za-z0-9_-]{43})$/;

const hashOf = (secret: string) => createHash('sha256').update(secret).digest();

/** The tokens identity providers call /scim/v2 with: made and revoked with `entitlements:write`. */
export class ScimTokenService {
  constructor(private readonly db: Database) {}

  async create(
    caller: Caller,
    input: { organizationId?: string | null; userIdAttribute?: ScimUserIdAttribute | null },
  ): Promise<CreatedScimToken> {
    assertScope(caller, Scope.write);
    const organizationId = checkOrganizationId(input.organizationId ?? null);
    const secret = randomBytes(32).toString('base64url');
    const row: ScimTokenRow = {
      id: randomUUID(),
      secretHash: hashOf(secret).toString('hex'),
      organizationId,
      userIdAttribute: input.userIdAttribute ?? 'EXTERNAL_ID',
      createdBy: actorOf(caller),
      createdAt: new Date(),
      revokedAt: null,
    };
    await this.db.manager.insert(ScimTokenRow, row);
    return { id: row.id, token: `scim_${row.id}_${secret}` };
  }

  /** Revoked at once: the next request with it gets 401. Revoking a revoked token changes nothing. */
  async revoke(caller: Caller, id: string): Promise<boolean> {
    assertScope(caller, Scope.write);
    if (!(await this.db.manager.existsBy(ScimTokenRow, { id }))) throw new NotFoundError('SCIM token', id);
    await this.db.manager.update(ScimTokenRow, { id, revokedAt: IsNull() }, { revokedAt: new Date() });
    return true;
  }

  async list(caller: Caller): Promise<ScimToken[]> {
    assertCanReadEveryone(caller, 'SCIM tokens');
    const rows = await this.db.manager.find(ScimTokenRow, { order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map(({ secretHash: _secretHash, ...token }) => token);
  }

  /**
   * The client an `Authorization: Bearer scim_...` header names, or null for anything else (no header, another
   * kind of token, an unknown, wrong or revoked one). Read from the database on every request, so a revocation
   * holds on every replica at once; the secret's hash is compared in constant time.
   */
  async authenticate(authorization: string | undefined): Promise<ScimClient | null> {
    const bearer = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
    const parts = bearer === undefined ? null : TOKEN_PATTERN.exec(bearer);
    if (!parts) return null;
    const [, id, secret] = parts;
    const row = await this.db.manager.findOneBy(ScimTokenRow, { id });
    if (!row || row.revokedAt !== null) return null;
    if (!timingSafeEqual(hashOf(secret), Buffer.from(row.secretHash, 'hex'))) return null;
    return { tokenId: row.id, organizationId: row.organizationId, userIdAttribute: row.userIdAttribute };
  }
}

function checkOrganizationId(id: string | null): string | null {
  if (id === null) return null;
  if ([...id].length < 1 || [...id].length > MAX_USER_ID_LENGTH || !isWellFormedText(id)) {
    throw new BadUserInputError(
      'organizationId',
      `organizationId must be 1 to ${MAX_USER_ID_LENGTH} characters of well-formed Unicode`,
    );
  }
  return id;
}
