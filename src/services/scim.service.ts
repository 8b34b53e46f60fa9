import { randomUUID } from 'node:crypto';

import type { EntityManager } from 'typeorm';

import { isScimActor, scimActorOf } from '../auth/caller';
import type { Database } from '../db/database';
import { lastRevocationActor } from '../db/event-store';
import type { ScimStore } from '../db/scim-store';
import { uniqueViolation } from '../db/unique-violation';
import { withGroupEntry } from '../domain/group-tiers';
import { ScimError } from '../domain/scim/errors';
import { GROUP_FILTER_ATTRIBUTES, parseFilter, USER_FILTER_ATTRIBUTES } from '../domain/scim/filter';
import { applyPatch } from '../domain/scim/patch';
import type {
  Page,
  Projection,
  ScimGroup,
  ScimGroupFields,
  ScimUser,
  ScimUserFields,
} from '../domain/scim/resources';
import {
  caseless,
  checkIdUnchanged,
  patchableGroup,
  patchableUser,
  readGroup,
  readUser,
  shows,
  subjectOf,
} from '../domain/scim/resources';
import { GROUP_SCHEMAS, USER_SCHEMAS } from '../domain/scim/schemas';
import type { JsonObject } from '../domain/scim/values';
import type { GroupTier } from '../domain/types';
import { NotFoundError, SeatLimitReachedError } from '../errors';
import type { GroupTierService } from './group-tier.service';
import { IDENTITY_DIRECTORY } from './group-tier.service';
import type { LicenseService } from './license.service';
import type { OrganizationService } from './organization.service';
import type { ScimClient } from './scim-token.service';

const DEACTIVATED = 'deactivated by the identity provider (SCIM)';
const DELETED = 'deleted by the identity provider (SCIM)';
const ACTIVE_AGAIN = 'active again at the identity provider (SCIM)';
const PROVISIONED = 'provisioned by the identity provider (SCIM)';
const GROUP_CHANGED = 'group changed at the identity provider (SCIM)';
const GROUP_DELETED = 'group deleted at the identity provider (SCIM)';

export interface ListQuery {
  filter?: string;
  page: Page;
  /** What the answer shows, so that what it leaves out need not be read (a large group's members). */
  projection: Projection;
}

/**
 * The SCIM directories and what they do to licenses, each in the write's own transaction with actor
 * `scim:<token id>`.
 * - In the identity directory (a token without an organization) a User's `active` governs the license of the
 *   identity it names: each write that leaves the User inactive, and its deletion, revoke that license; each
 *   write that leaves it active restores the license if SCIM was the last to revoke it, so an administrator's
 *   revokeLicense (a chargeback, say) is never undone by a provider's routine PUT. Its Groups give their
 *   members the tiers mapped to their names (rule S4, see GroupTierService).
 * - In an organization's directory a User's `active` governs its seat: each write that leaves it active holds
 *   one (409 SEAT_LIMIT_REACHED, and nothing written, when none is free), each that leaves it inactive, and its
 *   deletion, frees it. The identity's own license is not touched.
 */
export class ScimService {
  constructor(
    private readonly db: Database,
    private readonly store: ScimStore,
    private readonly licenses: LicenseService,
    private readonly organizations: OrganizationService,
    private readonly groupTiers: GroupTierService,
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
      await this.govern(manager, client, user, PROVISIONED);
      return user;
    });
  }

  async replaceUser(client: ScimClient, id: string, body: JsonObject): Promise<ScimUser> {
    return this.changeUser(client, id, (current) => {
      checkIdUnchanged(body, id);
      return readUser(body, current.active);
    });
  }

  async patchUser(client: ScimClient, id: string, body: JsonObject): Promise<ScimUser> {
    return this.changeUser(client, id, (current) => {
      const patched = applyPatch(patchableUser(current), body, USER_SCHEMAS);
      checkIdUnchanged(patched, id);
      return readUser(patched, current.active);
    });
  }

  async deleteUser(client: ScimClient, id: string): Promise<void> {
    await this.write(client, async (manager) => {
      const current = await this.store.user(manager, directoryOf(client), id, true);
      if (!current) throw ScimError.notFound('User', id);
      const actor = actorOf(client);
      if (client.organizationId !== null) {
        await this.store.deleteUser(manager, id);
        await this.organizations.unassignSeatWithin(
          manager,
          client.organizationId,
          current.subject,
          actor,
          DELETED,
        );
        return;
      }
      // Read before the memberships go: the tiers its groups gave end with them.
      if (current.groups.length > 0) {
        await this.groupTiers.recordChanges(manager, [id], actor, DELETED, new Date(), (_member, tiers) => ({
          before: tiers,
          after: [],
        }));
      }
      await this.store.deleteUser(manager, id);
      await this.licenses.revokeWithin(manager, current.subject, actor, DELETED);
    });
  }

  async groups(client: ScimClient, query: ListQuery): Promise<{ total: number; groups: ScimGroup[] }> {
    const condition = query.filter === undefined ? null : parseFilter(query.filter, GROUP_FILTER_ATTRIBUTES);
    return this.store.groups(this.db.manager, directoryOf(client), condition, query.page, {
      members: shows(query.projection, 'members'),
    });
  }

  async group(client: ScimClient, id: string, projection: Projection): Promise<ScimGroup> {
    const group = await this.store.group(this.db.manager, directoryOf(client), id, {
      members: shows(projection, 'members'),
    });
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
      await this.recordGroupTiers(manager, client, id, null, fields, GROUP_CHANGED);
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
      const patched = applyPatch(patchableGroup(current), body, GROUP_SCHEMAS);
      checkIdUnchanged(patched, id);
      return readGroup(patched);
    });
  }

  async deleteGroup(client: ScimClient, id: string): Promise<void> {
    await this.write(client, async (manager) => {
      const current = await this.store.group(manager, directoryOf(client), id, { lock: true });
      if (!current) throw ScimError.notFound('Group', id);
      await this.store.deleteGroup(manager, id);
      await this.recordGroupTiers(manager, client, id, current, null, GROUP_DELETED);
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
      await this.govern(manager, client, user, ACTIVE_AGAIN);
      return user;
    });
  }

  private async changeGroup(
    client: ScimClient,
    id: string,
    change: (current: ScimGroup) => ScimGroupFields,
  ): Promise<ScimGroup> {
    return this.write(client, async (manager) => {
      const current = await this.store.group(manager, directoryOf(client), id, { lock: true });
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
      await this.recordGroupTiers(manager, client, id, current, fields, GROUP_CHANGED);
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

  /** What the User's `active` governs after a write: the identity's license, or the organization's seat. */
  private async govern(
    manager: EntityManager,
    client: ScimClient,
    user: ScimUser,
    activeReason: string,
  ): Promise<void> {
    if (client.organizationId !== null) {
      await this.governSeat(manager, client.organizationId, client, user, activeReason);
      return;
    }
    if (!user.active) {
      await this.licenses.revokeWithin(manager, user.subject, actorOf(client), DEACTIVATED);
      return;
    }
    // Only what SCIM revoked: an administrator's revocation stays.
    await this.licenses.restoreWithin(manager, user.subject, actorOf(client), ACTIVE_AGAIN, async () =>
      isScimActor(await lastRevocationActor(manager, user.subject)),
    );
  }

  /**
   * An active User holds a seat of the organization (kept if it holds one, given back if it was unassigned by
   * hand: the directory is the record of who has one); an inactive one holds none.
   */
  private async governSeat(
    manager: EntityManager,
    organizationId: string,
    client: ScimClient,
    user: ScimUser,
    reason: string,
  ): Promise<void> {
    const actor = actorOf(client);
    if (!user.active) {
      await this.organizations.unassignSeatWithin(manager, organizationId, user.subject, actor, DEACTIVATED);
      return;
    }
    try {
      await this.organizations.assignSeatWithin(manager, organizationId, user.subject, actor, reason);
    } catch (error) {
      // The contract's code as the detail, so the provider's log shows why the User was not provisioned.
      if (error instanceof SeatLimitReachedError) throw new ScimError(409, 'SEAT_LIMIT_REACHED');
      if (error instanceof NotFoundError) {
        throw new ScimError(
          409,
          `Organization ${JSON.stringify(organizationId)} has no license yet, so no seat to hold: setOrganizationLicense first`,
        );
      }
      throw error;
    }
  }

  /**
   * A group of the identity directory written (created, changed or deleted: `before` / `after` null): each
   * member who has another tier from it than before gets a TIER_CHANGED (rule S4). Called after the write:
   * the mappings are read after the group has taken its name, so a setGroupTier for that name either committed
   * first and is read here, or reads this group once it commits (see GroupTierService.set).
   */
  private async recordGroupTiers(
    manager: EntityManager,
    client: ScimClient,
    groupId: string,
    before: ScimGroupFields | null,
    after: ScimGroupFields | null,
    cause: string,
  ): Promise<void> {
    if (client.organizationId !== null) return;
    const named = [before, after].filter((group) => group !== null);
    const mapped = await this.store.groupTiers(
      manager,
      named.map((group) => caseless(group.displayName)),
    );
    if (mapped.size === 0) return;
    const entryOf = (group: ScimGroupFields | null) => {
      const tierKey = group && mapped.get(caseless(group.displayName))?.tierKey;
      const members = new Set(group?.memberIds);
      return (memberId: string): GroupTier | null =>
        tierKey && members.has(memberId) ? { groupId, group: group.displayName, tierKey } : null;
    };
    const [was, is] = [entryOf(before), entryOf(after)];
    const changed = [...new Set(named.flatMap((group) => group.memberIds))].filter(
      (memberId) => was(memberId)?.tierKey !== is(memberId)?.tierKey,
    );
    await this.groupTiers.recordChanges(
      manager,
      changed,
      actorOf(client),
      cause,
      new Date(),
      (member, tiers) => ({
        before: withGroupEntry(tiers, groupId, was(member)),
        after: withGroupEntry(tiers, groupId, is(member)),
      }),
    );
  }

  /**
   * One transaction; a unique index refusing the row (a retried or concurrent create) is 409 uniqueness. Reads
   * see what committed before them (READ COMMITTED): the writes lock the organization's license or members'
   * licenses after their first read, and must read what the previous holders of those locks committed.
   */
  private async write<T>(client: ScimClient, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(work, { readCommitted: true });
    } catch (error) {
      const violation = uniqueViolation(error);
      if (violation === null) throw error;
      throw new ScimError(409, uniquenessDetail(violation, client), 'uniqueness');
    }
  }
}

const directoryOf = (client: ScimClient) => client.organizationId ?? IDENTITY_DIRECTORY;
const actorOf = (client: ScimClient) => scimActorOf(client.tokenId);

function uniquenessDetail(violation: string, client: ScimClient): string {
  if (violation.includes('user_name')) return 'A User with this userName already exists';
  if (violation.includes('subject')) {
    const attribute = client.userIdAttribute === 'EXTERNAL_ID' ? 'externalId' : 'userName';
    return `A User with this ${attribute} (the identity's User id) already exists`;
  }
  if (violation.includes('display_name')) return 'A Group with this displayName already exists';
  return 'The resource already exists';
}
