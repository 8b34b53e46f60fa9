import { InitialSchema1764378000000 } from './1764378000000-initial-schema';
import { UsageAndIdempotency1764460000000 } from './1764460000000-usage-and-idempotency';

/** Every migration, oldest first. */
export const migrations = [InitialSchema1764378000000, UsageAndIdempotency1764460000000];
