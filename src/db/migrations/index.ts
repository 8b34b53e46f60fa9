import { InitialSchema1764378000000 } from './1764378000000-initial-schema';

/** Every migration, oldest first. */
export const migrations = [InitialSchema1764378000000];
