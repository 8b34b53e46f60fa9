import { FieldResolver, Resolver, Root } from 'type-graphql';

import type { Entitlement as EntitlementValue, UsageMeter as UsageMeterValue } from '../../domain/types';
import { Entitlement, UsageMeter } from '../types/license.types';
import { Organization } from '../types/organization.types';

@Resolver(() => Entitlement)
export class EntitlementResolver {
  @FieldResolver(() => [Organization], { description: 'The organizations whose seats contribute' })
  organizations(@Root() entitlement: EntitlementValue): Organization[] {
    return entitlement.organizations.map((id) => ({ id }));
  }
}

@Resolver(() => UsageMeter)
export class UsageMeterResolver {
  @FieldResolver(() => Organization, { nullable: true, description: 'Set on a pooled meter' })
  organization(@Root() meter: UsageMeterValue): Organization | null {
    return meter.organizationId === null ? null : { id: meter.organizationId };
  }
}
