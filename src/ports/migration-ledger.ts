/** One object a storage migration copied and verified. */
export interface LedgerEntry {
  key: string;
  /** Size and last write of the source object when it was copied: a later write means copy again. */
  size: number;
  modifiedAt: number;
  /** SHA-256 (hex) of the bytes, as read back from the target. */
  sha256: string;
}

/**
 * The checkpoint of one storage migration (source → target): which objects are copied and verified.
 * It is what lets `imagegram migrate-storage` resume after a crash and lets a later pass copy only
 * what is new.
 */
export interface MigrationLedger {
  /** Every entry recorded so far, by key (the last one wins when a key was recorded twice). */
  load(): Promise<Map<string, LedgerEntry>>;
  /**
   * Records an entry durably before resolving (it survives `kill -9` and a power cut). Call it only
   * once the copy is verified: an entry is a promise that the target holds these bytes.
   */
  record(entry: LedgerEntry): Promise<void>;
  /** Releases what the ledger holds open; `record` may not be called after it. */
  close(): Promise<void>;
}
