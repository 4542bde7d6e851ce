import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Something Kysely compiles: a query builder (which ignores `db`) or an `sql` template. */
interface Compilable<Row> {
  compile(db: Kysely<Database>): CompiledQuery<Row>;
}

/** A placeholder handed to `build` in place of a value; found again among the compiled parameters. */
class Slot {
  constructor(readonly index: number) {}
}

/**
 * A statement whose SQL is built and compiled once per dialect, each call then only binding its
 * values: for the hottest statements, where building and compiling the query tree cost more CPU
 * than the driver's send. `build` gets placeholders for the values and must use each only as a
 * bound value (never in `sql.lit`, an identifier or a branch), so the text is the same whatever
 * the values.
 */
export function compiledOnce<Values extends unknown[], Row>(
  build: (...values: Values) => Compilable<Row>,
): (db: Kysely<Database>, ...values: Values) => CompiledQuery<Row> {
  // Keyed by the dialect's query compiler class: one store may run SQLite and another PostgreSQL in the same process.
  const byCompiler = new Map<unknown, { template: CompiledQuery<Row>; slots: number[] }>();
  return (db, ...values) => {
    const compiler = db.getExecutor().adapter.constructor;
    let known = byCompiler.get(compiler);
    if (!known) {
      const placeholders = values.map((_, index) => new Slot(index)) as Values;
      const template = build(...placeholders).compile(db);
      const slots = template.parameters.map((parameter) => (parameter instanceof Slot ? parameter.index : -1));
      known = { template, slots };
      byCompiler.set(compiler, known);
    }
    const { template, slots } = known;
    const parameters = slots.map((slot, at) => (slot < 0 ? template.parameters[at] : values[slot]));
    return { ...template, parameters };
  };
}
