#!/usr/bin/env node
// `npm run docs:config`: regenerates the README's configuration table from src/config.ts (run with tsx).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withConfigTable } from '../src/transports/cli/config-docs.ts';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const before = readFileSync(readme, 'utf8');
const after = withConfigTable(before);
if (after !== before) writeFileSync(readme, after);
process.stdout.write(after === before ? 'README.md: configuration table already current\n' : 'README.md: configuration table updated\n');
