import { randomUUID } from 'node:crypto';

import type { EntityManager } from 'typeorm';

import type { Database } from '../db/database';
import type { ScimStore } from '../db/scim-store';
import { uniqueViolation } from '../db/unique-violation';
import { ScimError } from '../domain/scim/errors';
import { GROUP_FILTER_ATTRIBUTES, parseFilter, USER_FILTER_ATTRIBUTES } from '../domain/scim/filter';
import { applyPatch } from '../domain/scim/patch';
import type { Page, ScimGroup, ScimGroupFields, ScimUser, ScimUserFields } from '../domain/scim/resources';
import {
  checkIdUnchanged,
  patchableGroup,
  patchableUser,
  readGroup,
  readUser,
  subjectOf,
} from '../domain/scim/resources';
import type { JsonObject } from '../domain/scim/values';
import type { LicenseService } from './license.service';
import type { ScimClient } from './scim-token.service';

const DEACTIVATED = 'deactivated by the identity provider (SCIM)';
const DELETED = 'deleted by the identity provider (SCIM)';
const ACTIVE_AGAIN = 'active again at the identity provider (SCIM)';
/** Every SCIM actor starts so; a license SCIM revoked is one SCIM may restore. */
const SCIM_ACTOR_PREFIX = 'scim:';

export interface ListQuery {
  filter?: string;
  page: Page;
}

/**
 * The SCIM directories and what they do to licenses. In the identity directory (a token without an organization)
 * a User's `active` governs the license of the identity it names: each write that leaves the User inactive, and
 * its deletion, revoke that license in the write's own transaction (LICENSE_REVOKED, actor `scim:<token id>`);
 * each write that leaves it active restores the license if SCIM was the last to revoke it, so an
 * administrator's revokeLicense (a chargeback, say) is never undone by a provider's routine PUT.
 */
export class ScimService {
  constructor(
    private readonly db: Database,
    private readonly store: ScimStore,
    private readonly licenses: LicenseService,
  ) {}

  async users(client: ScimClient, query: ListQuery): Promise<{ total: number; users: ScimUser[] }> {
    const condition = query.filter === undefined ? null : parseFilter(query.filter, USER_FILTER_ATTRIBUTES);
    return this.store.users(this.db.manager, directoryOf(client), condition, query.page);
  }

  async user(client: ScimClient, id: string): Promise<ScimUser> {
    const user = await this.store.user(this.db.manager, directoryOf(client), id);
    if (!user) throw ScimError.notFound('User', id);
    return user;
  }

  async createUser(client: ScimClient, body: JsonObject): Promise<ScimUser> {
    refuseSeatChanges(client);
    const fields = readUser(body, true);
    const now = new Date();
    const user: ScimUser = {
      id: randomUUID(),
      ...fields,
      subject: subjectOf(fields, client.userIdAttribute),
      groups: [],
      createdAt: now,
      updatedAt: now,
    };
    return this.write(client, async (manager) => {
      await this.store.insertUser(manager, directoryOf(client), user);
      await this.governLicense(manager, client, user);
      return user;
    });
  }

  async replaceUser(client: ScimClient, id: string, body: JsonObject): Promise<ScimUser> {
    refuseSeatChanges(client);
    return this.changeUser(client, id, (current) => {
      checkIdUnchanged(body, id);
      return readUser(body, current.active);
    });
  }

  async patchUser(client: ScimClient, id: string, body: JsonObject): Promise<ScimUser> {
    refuseSeatChanges(client);
    return this.changeUser(client, id, (current) => {
      const patched = applyPatch(patchableUser(current), body);
      checkIdUnchanged(patched, id);
      return readUser(patched, current.active);
    });
  }

  async deleteUser(client: ScimClient, id: string): Promise<void> {
    refuseSeatChanges(client);
    await this.write(client, async (manager) => {
      const current = await this.store.user(manager, directoryOf(client), id, true);
      if (!current) throw ScimError.notFound('User', id);
      await this.store.deleteUser(manager, id);
      await this.licenses.revokeWithin(manager, current.subject, actorOf(client), DELETED);
    });
  }

  async groups(client: ScimClient, query: ListQuery): Promise<{ total: number; groups: ScimGroup[] }> {
    const condition = query.filter === undefined ? null : parseFilter(query.filter, GROUP_FILTER_ATTRIBUTES);
    return this.store.groups(this.db.manager, directoryOf(client), condition, query.page);
  }

  async group(client: ScimClient, id: string): Promise<ScimGroup> {
    const group = await this.store.group(this.db.manager, directoryOf(client), id);
    if (!group) throw ScimError.notFound('Group', id);
    return group;
  }

  async createGroup(client: ScimClient, body: JsonObject): Promise<ScimGroup> {
    const fields = readGroup(body);
    const now = new Date();
    const id = randomUUID();
    return this.write(client, async (manager) => {
      await this.checkMembers(manager, client, fields.memberIds);
      const group = { id, ...fields, memberNames: new Map(), createdAt: now, updatedAt: now };
      await this.store.insertGroup(manager, directoryOf(client), group);
      return (await this.store.group(manager, directoryOf(client), id)) as ScimGroup;
    });
  }

  async replaceGroup(client: ScimClient, id: string, body: JsonObject): Promise<ScimGroup> {
    return this.changeGroup(client, id, () => {
      checkIdUnchanged(body, id);
      return readGroup(body);
    });
  }

  async patchGroup(client: ScimClient, id: string, body: JsonObject): Promise<ScimGroup> {
    return this.changeGroup(client, id, (current) => {
      const patched = applyPatch(patchableGroup(current), body);
      checkIdUnchanged(patched, id);
      return readGroup(patched);
    });
  }

  async deleteGroup(client: ScimClient, id: string): Promise<void> {
    await this.write(client, async (manager) => {
      const current = await this.store.group(manager, directoryOf(client), id, true);
      if (!current) throw ScimError.notFound('Group', id);
      await this.store.deleteGroup(manager, id);
    });
  }

  /** Locks the User, works out its new fields and writes them with their effect on the license. */
  private async changeUser(
    client: ScimClient,
    id: string,
    change: (current: ScimUser) => ScimUserFields,
  ): Promise<ScimUser> {
    return this.write(client, async (manager) => {
      const current = await this.store.user(manager, directoryOf(client), id, true);
      if (!current) throw ScimError.notFound('User', id);
      const fields = change(current);
      if (subjectOf(fields, client.userIdAttribute) !== current.subject) {
        const attribute = client.userIdAttribute === 'EXTERNAL_ID' ? 'externalId' : 'userName';
        throw ScimError.badRequest(
          'mutability',
          `${attribute} holds the identity's User id and cannot change; delete the User and create it again`,
        );
      }
      const user = { ...current, ...fields, updatedAt: new Date() };
      await this.store.updateUser(manager, directoryOf(client), user);
      await this.governLicense(manager, client, user);
      return user;
    });
  }

  private async changeGroup(
    client: ScimClient,
    id: string,
    change: (current: ScimGroup) => ScimGroupFields,
  ): Promise<ScimGroup> {
    return this.write(client, async (manager) => {
      const current = await this.store.group(manager, directoryOf(client), id, true);
      if (!current) throw ScimError.notFound('Group', id);
      const fields = change(current);
      const before = new Set(current.memberIds);
      await this.checkMembers(
        manager,
        client,
        fields.memberIds.filter((userId) => !before.has(userId)),
      );
      await this.store.updateGroup(manager, directoryOf(client), current, {
        ...current,
        ...fields,
        updatedAt: new Date(),
      });
      return (await this.store.group(manager, directoryOf(client), id)) as ScimGroup;
    });
  }

  /** Members must be Users of the same directory, provisioned before the group names them. */
  private async checkMembers(manager: EntityManager, client: ScimClient, userIds: string[]): Promise<void> {
    const found = await this.store.existingUserIds(manager, directoryOf(client), userIds);
    const missing = userIds.find((userId) => !found.has(userId));
    if (missing !== undefined) {
      throw ScimError.badRequest('invalidValue', `members: there is no User ${JSON.stringify(missing)}`);
    }
  }

  /** The identity's license follows the User: revoked while inactive, restored when SCIM had revoked it. */
  private async governLicense(manager: EntityManager, client: ScimClient, user: ScimUser): Promise<void> {
    if (!user.active) {
      await this.licenses.revokeWithin(manager, user.subject, actorOf(client), DEACTIVATED);
      return;
    }
    await this.licenses.restoreWithin(manager, user.subject, actorOf(client), ACTIVE_AGAIN, async () => {
      const actor = await this.store.lastRevocationActor(manager, user.subject);
      return actor?.startsWith(SCIM_ACTOR_PREFIX) ?? false;
    });
  }

  /** One transaction; a unique index refusing the row (a retried or concurrent create) is 409 uniqueness. */
  private async write<T>(client: ScimClient, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(work);
    } catch (error) {
      const violation = uniqueViolation(error);
      if (violation === null) throw error;
      throw new ScimError(409, uniquenessDetail(violation, client), 'uniqueness');
    }
  }
}

const directoryOf = (client: ScimClient) => client.organizationId ?? '';
const actorOf = (client: ScimClient) => `${SCIM_ACTOR_PREFIX}${client.tokenId}`;

/**
 * An organization's token governs its seats, which do not exist yet (issue 15): a write that would assign or free
 * one is refused as not implemented, rather than stored without its effect.
 */
function refuseSeatChanges(client: ScimClient): void {
  if (client.organizationId === null) return;
  throw new ScimError(
    501,
    "Provisioning Users into an organization's seats is not available yet; a SCIM token without organizationId governs identities' licenses",
  );
}

function uniquenessDetail(violation: string, client: ScimClient): string {
  if (violation.includes('user_name')) return 'A User with this userName already exists';
  if (violation.includes('subject')) {
    const attribute = client.userIdAttribute === 'EXTERNAL_ID' ? 'externalId' : 'userName';
    return `A User with this ${attribute} (the identity's User id) already exists`;
  }
  if (violation.includes('display_name')) return 'A Group with this displayName already exists';
  return 'The resource already exists';
}
