/** One edge of a Relay connection: a node and the cursor that continues the listing after it. */
export interface Edge<T> {
  node: T;
  cursor: string;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** A Relay connection (https://relay.dev/graphql/connections.htm) over one page of a keyset listing. */
export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/**
 * Each node's cursor continues the listing right after it (so `endCursor` equals the service's
 * `nextCursor` when there is a next page); paging is forward only, hence no previous page. `nodeOf`
 * turns what the service listed into what the schema serves (nodes.ts), the cursor being taken
 * from the former.
 */
export function connectionOf<T>(items: readonly T[], nextCursor: string | null, cursorOf: (item: T) => string): Connection<T>;
export function connectionOf<T, N>(items: readonly T[], nextCursor: string | null, cursorOf: (item: T) => string, nodeOf: (item: T) => N): Connection<N>;
export function connectionOf<T, N>(
  items: readonly T[],
  nextCursor: string | null,
  cursorOf: (item: T) => string,
  nodeOf: (item: T) => N = (item) => item as unknown as N,
): Connection<N> {
  // The service already signed the last node's cursor as `nextCursor`: not signed twice.
  const last = items.length - 1;
  const edges = items.map((item, i) => ({ node: nodeOf(item), cursor: i === last && nextCursor !== null ? nextCursor : cursorOf(item) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: nextCursor !== null,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/**
 * A page size as the services take it. `first` has a default, so it is null only when a client
 * sends null: that becomes NaN, which the services refuse (VALIDATION_FAILED) like any bad size.
 */
export function pageSize(first: number | null | undefined): number {
  return first ?? Number.NaN;
}

// Recently formatted times: a page read again formats the same 60 times (posts, last comments),
// and a Date plus toISOString costs ~1–2 µs each where a lookup costs ~50 ns. Emptied when full,
// which bounds it (~1 MB) without an LRU's bookkeeping on every hit.
const recentIsoTimes = new Map<number, string>();
const recentIsoTimesMax = 10_000;

/** Epoch ms → ISO-8601, the form every time takes in the schema. */
export function iso(ms: number): string {
  let text = recentIsoTimes.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (recentIsoTimes.size >= recentIsoTimesMax) recentIsoTimes.clear();
    recentIsoTimes.set(ms, text);
  }
  return text;
}
