import { randomUUID } from 'node:crypto';

import { In } from 'typeorm';

import { assertCanReadEveryone, assertScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { Database } from '../db/database';
import { LicenseEventRow, WebhookDeliveryRow, WebhookEndpointRow } from '../db/entities';
import { toLicenseEvent } from '../db/mappers';
import type { LicenseEventType, WebhookDelivery, WebhookEndpoint } from '../domain/types';
import { checkPageSize, DEFAULT_PAGE_SIZE } from '../domain/validation';
import { checkWebhookUrl, newWebhookSecret } from '../domain/webhooks';
import { BadUserInputError, NotFoundError } from '../errors';
import { hostIsPublic } from '../outbound/http';

export interface CreatedWebhookEndpoint {
  endpoint: WebhookEndpoint;
  /** Shown once, in the mutation's answer; it is never read back out. */
  secret: string;
}

/** Webhook endpoints and their delivery history: read with `entitlements:read`, changed with `:write`. */
export class WebhookService {
  constructor(
    private readonly db: Database,
    private readonly options: { allowPrivate: boolean },
  ) {}

  async create(
    caller: Caller,
    input: { url: string; eventTypes?: LicenseEventType[] | null },
  ): Promise<CreatedWebhookEndpoint> {
    assertScope(caller, Scope.write);
    const url = checkWebhookUrl(input.url);
    if (!this.options.allowPrivate) await assertPublicHost(url);
    const eventTypes = [...new Set(input.eventTypes ?? [])];
    const row: WebhookEndpointRow = {
      id: randomUUID(),
      url: url.href,
      secret: newWebhookSecret(),
      eventTypes: eventTypes.length === 0 ? '' : `,${eventTypes.join(',')},`,
      enabled: true,
      createdBy: actorOf(caller),
      createdAt: new Date(),
    };
    await this.db.manager.insert(WebhookEndpointRow, row);
    return { endpoint: toEndpoint(row), secret: row.secret };
  }

  async delete(caller: Caller, id: string): Promise<boolean> {
    assertScope(caller, Scope.write);
    const { affected } = await this.db.manager.delete(WebhookEndpointRow, { id });
    if (!affected) throw new NotFoundError('Webhook endpoint', id);
    return true;
  }

  async list(caller: Caller): Promise<WebhookEndpoint[]> {
    assertCanReadEveryone(caller, 'webhooks');
    const rows = await this.db.manager.find(WebhookEndpointRow, { order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map(toEndpoint);
  }

  /** One endpoint's deliveries, newest first. */
  async deliveries(
    caller: Caller,
    endpointId: string,
    first = DEFAULT_PAGE_SIZE,
  ): Promise<WebhookDelivery[]> {
    assertCanReadEveryone(caller, 'webhooks');
    checkPageSize(first);
    const exists = await this.db.manager.existsBy(WebhookEndpointRow, { id: endpointId });
    if (!exists) throw new NotFoundError('Webhook endpoint', endpointId);
    const rows = await this.db.manager.find(WebhookDeliveryRow, {
      where: { endpointId },
      order: { id: 'DESC' },
      take: first,
    });
    const events = await this.db.manager.findBy(LicenseEventRow, {
      id: In([...new Set(rows.map((row) => row.eventId))]),
    });
    const eventById = new Map(events.map((row) => [String(row.id), toLicenseEvent(row)]));
    return rows.map((row) => ({
      id: String(row.id),
      endpointId: row.endpointId,
      event: eventById.get(String(row.eventId))!,
      status: row.status,
      attempts: row.attempts,
      lastStatusCode: row.lastStatusCode,
      nextAttemptAt: row.status === 'PENDING' ? row.nextAttemptAt : null,
      deliveredAt: row.deliveredAt,
    }));
  }
}

/** Refuses a host that is, or resolves to, a non-public address (checked again at each delivery). */
async function assertPublicHost(url: URL): Promise<void> {
  const isPublic = await hostIsPublic(url);
  if (isPublic === null)
    throw new BadUserInputError('url', `url: the host "${url.hostname}" could not be resolved`);
  if (!isPublic) throw new BadUserInputError('url', 'url must not point to a loopback or private address');
}

function toEndpoint(row: WebhookEndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    eventTypes: row.eventTypes.split(',').filter(Boolean) as LicenseEventType[],
    enabled: Boolean(row.enabled),
    createdAt: row.createdAt,
  };
}
