import type { GraphQLResolveInfo } from 'graphql';

import { assertAuthenticated } from '../../auth/access';
import { BadUserInputError } from '../../errors';
import type { RequestContext } from '../context';
import type { Organization } from '../types/organization.types';
import { userSelectionNeedsView } from '../user-selection';
import { organizationReferenceResolvers } from './organization.reference';
import type { UserEntity } from './user.reference';
import { userReferenceResolvers } from './user.reference';

/**
 * `_entities`, in place of @apollo/subgraph's: User and Organization are the entities here. Every
 * representation is checked first, and one that is neither with an id refuses the whole request with one
 * error (not one error, and one log line, per representation), and so is a caller without a valid token.
 * Each distinct entity is resolved once; repeats share its answer.
 */
export function resolveEntities(
  _source: unknown,
  { representations }: { representations: readonly unknown[] },
  ctx: RequestContext,
  info: GraphQLResolveInfo,
): Promise<Entity>[] {
  const references = representations.map(referenceOf);
  // Every entity field needs a token: without one, one error for the request rather than one per representation.
  assertAuthenticated(ctx.caller);
  const withView = userSelectionNeedsView(info);
  const resolved = new Map<string, Promise<Entity>>();
  return references.map(({ __typename, id }) => {
    const key = `${__typename}\u0000${id}`;
    let entity = resolved.get(key);
    if (!entity) {
      entity =
        __typename === 'User'
          ? userReferenceResolvers.User.__resolveReference({ id }, ctx, withView)
          : organizationReferenceResolvers.Organization.__resolveReference({ id }, ctx);
      resolved.set(key, entity);
    }
    return entity;
  });
}

type Entity = UserEntity | (Organization & { __typename: 'Organization' });

const ENTITY_TYPES = new Set(['User', 'Organization']);

function referenceOf(representation: unknown): { __typename: 'User' | 'Organization'; id: string } {
  const { __typename, id } = (representation ?? {}) as { __typename?: unknown; id?: unknown };
  if (typeof __typename !== 'string' || !ENTITY_TYPES.has(__typename)) {
    throw new BadUserInputError(
      'representations',
      'A representation is neither a User nor an Organization: this subgraph resolves no other entity',
    );
  }
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new BadUserInputError('id', `A ${__typename} representation needs an id`);
  }
  return { __typename: __typename as 'User' | 'Organization', id: String(id) };
}
