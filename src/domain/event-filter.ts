/** Whose events a reader follows: one user's (with its organizations'), one organization's, or everyone's (null). */
export type EventFilter = { userId: string } | { organizationId: string } | null;
