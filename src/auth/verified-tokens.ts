import { LRUCache } from 'lru-cache';

import type { Caller } from './caller';

/** The claims of a verified token that the passing of time can turn against it. */
export interface TimeClaims {
  exp: number;
  nbf?: number;
}

interface Entry {
  caller: Caller;
  claims: TimeClaims;
  /** The key set it was verified with (see `KeySet.version`). */
  keys: number;
}

/**
 * Tokens that passed verification, by their full text, so that a token sent again (every request of a
 * session carries the same one) skips the signature check. An entry stands only while nothing that decided
 * it can have changed: `exp` and `nbf` are judged again at every use, to the second as jose judges them, and
 * an entry counts only for the key set it was verified with. Refusals are never kept; the least recently
 * used entries go first when the cache is full.
 */
export class VerifiedTokens {
  private readonly entries: LRUCache<string, Entry>;

  constructor(
    max: number,
    private readonly clockToleranceSeconds: number,
  ) {
    this.entries = new LRUCache({ max });
  }

  /** The caller of a token verified before with the same keys, if it is still valid at `nowMs`. */
  get(token: string, keys: number, nowMs: number): Caller | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.keys === keys && this.stillValid(entry.claims, nowMs)) return entry.caller;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, keys: number, claims: TimeClaims, caller: Caller): void {
    this.entries.set(token, { caller, claims, keys });
  }

  /** jose's own checks (jwt_claims_set.js): whole seconds, with the same tolerance. */
  private stillValid({ exp, nbf }: TimeClaims, nowMs: number): boolean {
    const now = Math.floor(nowMs / 1000);
    const tolerance = this.clockToleranceSeconds;
    return exp > now - tolerance && (nbf === undefined || nbf <= now + tolerance);
  }
}
