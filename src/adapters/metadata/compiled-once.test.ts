import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
} from 'kysely';
import { compiledOnce } from './compiled-once.js';
import type { Database } from './schema.js';

/** A Kysely that compiles for PostgreSQL or SQLite and never connects. */
function compilerOnly(dialect: 'postgres' | 'sqlite'): Kysely<Database> {
  return new Kysely<Database>({
    dialect:
      dialect === 'postgres'
        ? {
            createAdapter: () => new PostgresAdapter(),
            createDriver: () => new DummyDriver(),
            createIntrospector: (db) => new PostgresIntrospector(db),
            createQueryCompiler: () => new PostgresQueryCompiler(),
          }
        : {
            createAdapter: () => new SqliteAdapter(),
            createDriver: () => new DummyDriver(),
            createIntrospector: (db) => new SqliteIntrospector(db),
            createQueryCompiler: () => new SqliteQueryCompiler(),
          },
  });
}

describe('compiledOnce', () => {
  const postgres = compilerOnly('postgres');
  const sqlite = compilerOnly('sqlite');

  it('binds each call its own values, in the places the built query put them, constants kept', () => {
    const statement = compiledOnce((id: string, start: number) => sql`select ${id}, ${start}::int, ${'constant'}, ${start}::int`);
    const first = statement(postgres, 'a', 1);
    const second = statement(postgres, 'b', 2);
    assert.equal(first.sql, 'select $1, $2::int, $3, $4::int');
    assert.equal(second.sql, first.sql);
    assert.deepEqual(first.parameters, ['a', 1, 'constant', 1]);
    assert.deepEqual(second.parameters, ['b', 2, 'constant', 2]);
  });

  it('gives the same values the same place a freshly built query does', () => {
    const build = (hash: string, now: number) => postgres.selectFrom('sessions').select('user_id').where('token_hash', '=', hash).where('expires_at', '>', now);
    const statement = compiledOnce(build);
    statement(postgres, 'warm', 0);
    const once = statement(postgres, 'h', 42);
    const fresh = build('h', 42).compile();
    assert.equal(once.sql, fresh.sql);
    assert.deepEqual(once.parameters, fresh.parameters);
  });

  it('compiles once per dialect, so SQLite and PostgreSQL stores can share a process', () => {
    const statement = compiledOnce((id: string) => sql`select ${id}`);
    assert.equal(statement(postgres, 'x').sql, 'select $1');
    assert.equal(statement(sqlite, 'y').sql, 'select ?');
    assert.equal(statement(postgres, 'z').sql, 'select $1');
    assert.deepEqual(statement(sqlite, 'w').parameters, ['w']);
  });
});
