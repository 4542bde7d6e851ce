import { createRequire } from 'node:module';
import type Driver from 'better-sqlite3';

/** An open SQLite database, whichever driver build this runtime loads. */
export type SqliteDatabase = Driver.Database;
/** A prepared statement of a SqliteDatabase. */
export type SqliteStatement = Driver.Statement;

const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

/**
 * Where better-sqlite3 is, in the build that works on this Node.js: 13 (N-API, prebuilt) on Node 22 and
 * later, where 12 crashes the process when the garbage collector finalises a statement; 12 on
 * Node 20, where 13 crashes at load. Both are installed (12 as an optional dependency, since it
 * compiles at install and a Node 24 machine without its headers may skip it); the API is the same.
 */
export const betterSqlite3Path: string = require.resolve(nodeMajor >= 22 ? 'better-sqlite3-13' : 'better-sqlite3');
/** The driver at `betterSqlite3Path`. */
export const BetterSqlite3: typeof Driver = require(betterSqlite3Path);
