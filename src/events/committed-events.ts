import type { LicenseEventType } from '../domain/types';

type Listener = (type: LicenseEventType) => void;

/**
 * Tells this replica that an event has committed: the audit log raises it after each commit, live delivery
 * (notifier, webhook dispatcher, metrics) listens. Other replicas learn it through the notifier.
 */
export class CommittedEvents {
  private readonly listeners = new Set<Listener>();

  /** Returns the way to stop listening. */
  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  raise(type: LicenseEventType): void {
    for (const listener of this.listeners) listener(type);
  }
}
