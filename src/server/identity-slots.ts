/** How many of something (sockets, callback subscriptions) each identity holds, up to a ceiling. */
export class IdentitySlots {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes a slot for `identity`; false, taking nothing, when it already holds `max`. */
  take(identity: string): boolean {
    const count = this.held.get(identity) ?? 0;
    if (count >= this.max) return false;
    this.held.set(identity, count + 1);
    return true;
  }

  /** Gives back a slot `take` gave. */
  release(identity: string): void {
    const left = (this.held.get(identity) ?? 1) - 1;
    if (left > 0) this.held.set(identity, left);
    else this.held.delete(identity);
  }
}
