import type { EntityManager, SelectQueryBuilder } from 'typeorm';
import { Brackets, In } from 'typeorm';

import { groupBy } from '../domain/group-by';
import type { Condition } from '../domain/scim/filter';
import type { Page, ScimGroup, ScimUser } from '../domain/scim/resources';
import { caseless } from '../domain/scim/resources';
import type { JsonObject } from '../domain/scim/values';
import type { Database } from './database';
import { ScimGroupMemberRow, ScimGroupRow, ScimGroupTierRow, ScimUserRow } from './entities';

export type UserFilterAttribute = 'id' | 'userName' | 'externalId' | 'displayName';
export type GroupFilterAttribute = 'id' | 'displayName' | 'externalId';

/** The column each filterable attribute is compared on, and how a value is put in its form. */
const USER_COLUMNS: Record<UserFilterAttribute, [string, (value: string) => string]> = {
  id: ['id', String],
  userName: ['user_name_key', caseless],
  externalId: ['external_id', String],
  displayName: ['display_name_key', caseless],
};
const GROUP_COLUMNS: Record<GroupFilterAttribute, [string, (value: string) => string]> = {
  id: ['id', String],
  displayName: ['display_name_key', caseless],
  externalId: ['external_id', String],
};

/** Member rows are written this many at a time (one INSERT each), well under both databases' parameter caps. */
const MEMBER_BATCH = 500;

/** The SCIM directories' rows: Users, Groups and memberships, read and written inside the service's transactions. */
export class ScimStore {
  constructor(private readonly db: Database) {}

  async users(
    manager: EntityManager,
    directory: string,
    condition: Condition<UserFilterAttribute> | null,
    page: Page,
  ): Promise<{ total: number; users: ScimUser[] }> {
    const query = filtered(manager.createQueryBuilder(ScimUserRow, 'r'), directory, condition, USER_COLUMNS);
    const total = await query.getCount();
    const rows = page.count === 0 ? [] : await paged(query, page).getMany();
    return { total, users: await this.withGroups(manager, rows) };
  }

  async user(manager: EntityManager, directory: string, id: string, lock = false): Promise<ScimUser | null> {
    const row = await manager.findOne(ScimUserRow, {
      where: { directory, id },
      ...(lock ? { lock: this.db.writeLock } : {}),
    });
    return row ? (await this.withGroups(manager, [row]))[0] : null;
  }

  async insertUser(manager: EntityManager, directory: string, user: ScimUser): Promise<void> {
    await manager.insert(ScimUserRow, toUserRow(directory, user));
  }

  async updateUser(manager: EntityManager, directory: string, user: ScimUser): Promise<void> {
    const { id, ...row } = toUserRow(directory, user);
    await manager.update(ScimUserRow, { id }, row);
  }

  async deleteUser(manager: EntityManager, id: string): Promise<void> {
    // The foreign key would remove the memberships too; deleting them first does not rely on SQLite's pragma.
    await manager.delete(ScimGroupMemberRow, { userId: id });
    await manager.delete(ScimUserRow, { id });
  }

  /** Which of `ids` are Users of `directory`. */
  async existingUserIds(manager: EntityManager, directory: string, ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let start = 0; start < ids.length; start += MEMBER_BATCH) {
      const rows = await manager.find(ScimUserRow, {
        select: { id: true },
        where: { directory, id: In(ids.slice(start, start + MEMBER_BATCH)) },
      });
      for (const row of rows) found.add(row.id);
    }
    return found;
  }

  async groups(
    manager: EntityManager,
    directory: string,
    condition: Condition<GroupFilterAttribute> | null,
    page: Page,
    options: { members?: boolean } = {},
  ): Promise<{ total: number; groups: ScimGroup[] }> {
    const query = filtered(
      manager.createQueryBuilder(ScimGroupRow, 'r'),
      directory,
      condition,
      GROUP_COLUMNS,
    );
    const total = await query.getCount();
    const rows = page.count === 0 ? [] : await paged(query, page).getMany();
    return { total, groups: await this.withMembers(manager, rows, options.members) };
  }

  async group(
    manager: EntityManager,
    directory: string,
    id: string,
    options: { lock?: boolean; members?: boolean } = {},
  ): Promise<ScimGroup | null> {
    const row = await manager.findOne(ScimGroupRow, {
      where: { directory, id },
      ...(options.lock ? { lock: this.db.writeLock } : {}),
    });
    return row ? (await this.withMembers(manager, [row], options.members))[0] : null;
  }

  /** The directory's group named `nameKey` (a displayName in lower case), if any. */
  async groupNamed(
    manager: EntityManager,
    directory: string,
    nameKey: string,
    lock = false,
  ): Promise<ScimGroup | null> {
    const row = await manager.findOne(ScimGroupRow, {
      where: { directory, displayNameKey: nameKey },
      ...(lock ? { lock: this.db.writeLock } : {}),
    });
    return row ? (await this.withMembers(manager, [row]))[0] : null;
  }

  async insertGroup(manager: EntityManager, directory: string, group: ScimGroup): Promise<void> {
    await manager.insert(ScimGroupRow, toGroupRow(directory, group));
    await this.addMembers(manager, group.id, group.memberIds);
  }

  /** Writes the group's fields and the difference between its members and `before`'s. */
  async updateGroup(
    manager: EntityManager,
    directory: string,
    before: ScimGroup,
    after: ScimGroup,
  ): Promise<void> {
    const { id, ...row } = toGroupRow(directory, after);
    await manager.update(ScimGroupRow, { id }, row);
    const kept = new Set(after.memberIds);
    const removed = before.memberIds.filter((userId) => !kept.has(userId));
    for (let start = 0; start < removed.length; start += MEMBER_BATCH) {
      await manager.delete(ScimGroupMemberRow, {
        groupId: id,
        userId: In(removed.slice(start, start + MEMBER_BATCH)),
      });
    }
    const existing = new Set(before.memberIds);
    await this.addMembers(
      manager,
      id,
      after.memberIds.filter((userId) => !existing.has(userId)),
    );
  }

  async deleteGroup(manager: EntityManager, id: string): Promise<void> {
    await manager.delete(ScimGroupMemberRow, { groupId: id });
    await manager.delete(ScimGroupRow, { id });
  }

  /** The Users' subjects (the identities' User ids), by SCIM id. */
  async subjects(manager: EntityManager, ids: string[]): Promise<Map<string, string>> {
    const subjects = new Map<string, string>();
    for (let start = 0; start < ids.length; start += MEMBER_BATCH) {
      const rows = await manager.find(ScimUserRow, {
        select: { id: true, subject: true },
        where: { id: In(ids.slice(start, start + MEMBER_BATCH)) },
      });
      for (const row of rows) subjects.set(row.id, row.subject);
    }
    return subjects;
  }

  /**
   * The tiers mapped to these group names (displayNames in lower case), by name; locked until commit, and read
   * as committed last, so a change of a group reads the mapping setGroupTier has just written.
   */
  async groupTiers(manager: EntityManager, nameKeys: string[]): Promise<Map<string, ScimGroupTierRow>> {
    const rows = await manager.find(ScimGroupTierRow, {
      where: { groupKey: In([...new Set(nameKeys)]) },
      lock: this.db.writeLock,
    });
    return new Map(rows.map((row) => [row.groupKey, row]));
  }

  async allGroupTiers(manager: EntityManager): Promise<ScimGroupTierRow[]> {
    return manager.find(ScimGroupTierRow, { order: { groupKey: 'ASC' } });
  }

  async putGroupTier(manager: EntityManager, row: ScimGroupTierRow): Promise<void> {
    await manager.upsert(ScimGroupTierRow, row, ['groupKey']);
  }

  async deleteGroupTier(manager: EntityManager, nameKey: string): Promise<void> {
    await manager.delete(ScimGroupTierRow, { groupKey: nameKey });
  }

  private async addMembers(manager: EntityManager, groupId: string, userIds: string[]): Promise<void> {
    for (let start = 0; start < userIds.length; start += MEMBER_BATCH) {
      const batch = userIds.slice(start, start + MEMBER_BATCH).map((userId) => ({ groupId, userId }));
      await manager.insert(ScimGroupMemberRow, batch);
    }
  }

  private async withGroups(manager: EntityManager, rows: ScimUserRow[]): Promise<ScimUser[]> {
    const memberships =
      rows.length === 0
        ? []
        : await manager
            .createQueryBuilder(ScimGroupMemberRow, 'm')
            .innerJoin(ScimGroupRow, 'g', 'g.id = m.group_id')
            .select(['m.user_id AS user_id', 'g.id AS group_id', 'g.display_name AS display_name'])
            .where('m.user_id IN (:...ids)', { ids: rows.map((row) => row.id) })
            .orderBy('g.display_name_key')
            .getRawMany<{ user_id: string; group_id: string; display_name: string }>();
    return rows.map((row) => ({
      id: row.id,
      userName: row.userName,
      externalId: row.externalId,
      displayName: row.displayName,
      active: Boolean(row.active),
      attributes: JSON.parse(row.attributes) as JsonObject,
      subject: row.subject,
      groups: memberships
        .filter((membership) => membership.user_id === row.id)
        .map((membership) => ({ id: membership.group_id, displayName: membership.display_name })),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    }));
  }

  /** The groups of `rows`; without their members (none listed) for an answer that does not show them. */
  private async withMembers(
    manager: EntityManager,
    rows: ScimGroupRow[],
    members = true,
  ): Promise<ScimGroup[]> {
    const found =
      rows.length === 0 || !members
        ? []
        : await manager
            .createQueryBuilder(ScimGroupMemberRow, 'm')
            .innerJoin(ScimUserRow, 'u', 'u.id = m.user_id')
            .select(['m.group_id AS group_id', 'u.id AS user_id', 'u.user_name AS user_name'])
            .where('m.group_id IN (:...ids)', { ids: rows.map((row) => row.id) })
            .orderBy('u.user_name_key')
            .getRawMany<{ group_id: string; user_id: string; user_name: string }>();
    const byGroup = groupBy(found, (member) => member.group_id);
    return rows.map((row) => {
      const own = byGroup.get(row.id) ?? [];
      return {
        id: row.id,
        displayName: row.displayName,
        externalId: row.externalId,
        memberIds: own.map((member) => member.user_id),
        memberNames: new Map(own.map((member) => [member.user_id, member.user_name])),
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      };
    });
  }
}

/** The directory's rows matching `condition`; each comparison is a bound parameter on its column. */
function filtered<T extends ScimUserRow | ScimGroupRow, A extends string>(
  query: SelectQueryBuilder<T>,
  directory: string,
  condition: Condition<A> | null,
  columns: Record<A, [string, (value: string) => string]>,
): SelectQueryBuilder<T> {
  query.where('r.directory = :directory', { directory });
  if (condition === null) return query;
  let next = 0;
  const where = (part: Condition<A>): Brackets =>
    new Brackets((inner) => {
      if ('attribute' in part) {
        const [column, form] = columns[part.attribute];
        const name = `v${next++}`;
        inner.where(`r.${column} = :${name}`, { [name]: form(part.value) });
        return;
      }
      const [joined, parts] = 'and' in part ? ['and', part.and] : ['or', part.or];
      parts.forEach((inside, index) => {
        if (index === 0) inner.where(where(inside));
        else if (joined === 'and') inner.andWhere(where(inside));
        else inner.orWhere(where(inside));
      });
    });
  return query.andWhere(where(condition));
}

/** Oldest first, so a provider paging through a directory sees each resource once. */
function paged<T extends ScimUserRow | ScimGroupRow>(
  query: SelectQueryBuilder<T>,
  page: Page,
): SelectQueryBuilder<T> {
  return query
    .orderBy('r.created_at', 'ASC')
    .addOrderBy('r.id', 'ASC')
    .offset(page.startIndex - 1)
    .limit(page.count);
}

function toUserRow(directory: string, user: ScimUser): ScimUserRow {
  return {
    id: user.id,
    directory,
    userName: user.userName,
    userNameKey: caseless(user.userName),
    externalId: user.externalId,
    displayName: user.displayName,
    displayNameKey: user.displayName === null ? null : caseless(user.displayName),
    subject: user.subject,
    active: user.active,
    attributes: JSON.stringify(user.attributes),
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

function toGroupRow(directory: string, group: ScimGroup): ScimGroupRow {
  return {
    id: group.id,
    directory,
    displayName: group.displayName,
    displayNameKey: caseless(group.displayName),
    externalId: group.externalId,
    createdAt: group.createdAt,
    updatedAt: group.updatedAt,
  };
}
