import { LRUCache } from 'lru-cache';

/**
 * What a statement last returned as JSON text, per statement and bound values, with what that text
 * was turned into. A popular feed page comes back byte for byte the same until a write changes it:
 * then its text is compared (a memcmp) instead of parsed and mapped again, and every reader shares
 * the same objects. Those are deeply frozen, so a caller that tried to change a shared page would
 * throw instead of corrupting other requests' answers. The value is a pure function of the text,
 * so two databases (or processes) that return the same text under one key get the same, right,
 * value.
 */
export class ParsedPages<T extends object> {
  private readonly recent: LRUCache<string, { text: string; value: T }>;

  constructor(
    private readonly parse: (text: string) => T,
    /** Most text kept, in UTF-16 code units (the parsed values take a few times as much). */
    maxTextLength = 4 * 2 ** 20,
  ) {
    this.recent = new LRUCache({ max: 4096, maxSize: maxTextLength, sizeCalculation: ({ text }) => Math.max(text.length, 1) });
  }

  /** The value of `text`, which the statement identified by `key` just returned: remembered or parsed now. */
  valueOf(key: string, text: string): T {
    const known = this.recent.get(key);
    if (known?.text === text) return known.value;
    const value = deepFreeze(this.parse(text));
    this.recent.set(key, { text, value });
    return value;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
