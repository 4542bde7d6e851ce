import { parse } from 'fast-querystring';

/** Parsed query strings as Fastify hands them out: no prototype, values a string or an array of them. */
export type ParsedQuery = Record<string, string | string[]>;

/** Shorter query strings are parsed each time: they parse faster than a lookup finds them. */
const rememberedFrom = 64;

// fast-querystring's own trick: objects with nothing behind them that V8 still keeps in fast mode.
// A declaration, not an expression: a linter's fix would make that an arrow, which `new` refuses.
function Empty() {}
Empty.prototype = Object.create(null);

/**
 * Fastify's query-string parser (fast-querystring), remembering what long query strings parse to.
 * Clients repeat a few long ones (a GraphQL GET carries its whole document in the URL), and
 * percent-decoding hundreds of characters costs more than the rest of a cached answer. Each
 * request gets its own copy: validation coerces values in place. Up to `maxChars` of query
 * strings are remembered; past that they are all forgotten at once.
 */
export function rememberingQueryParser(maxChars = 1024 * 1024): (text: string) => ParsedQuery {
  const parsed = new Map<string, ParsedQuery>();
  let chars = 0;
  return (text) => {
    if (text.length < rememberedFrom) return parse(text) as ParsedQuery;
    let known = parsed.get(text);
    if (known === undefined) {
      known = parse(text) as ParsedQuery;
      if (chars + text.length > maxChars) {
        parsed.clear();
        chars = 0;
      }
      parsed.set(text, known);
      chars += text.length;
    }
    return copyOf(known);
  };
}

function copyOf(query: ParsedQuery): ParsedQuery {
  const copy = new (Empty as unknown as new () => ParsedQuery)();
  for (const name in query) {
    const value = query[name] as string | string[];
    copy[name] = typeof value === 'string' ? value : value.slice();
  }
  return copy;
}
