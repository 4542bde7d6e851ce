import { configOptions, type ConfigOption } from '../../config.js';

// `--help` and the README's configuration table are both generated from `configOptions`, so
// neither can drift from what the parser accepts; a test checks the README copy is current.

const options = (): [string, ConfigOption][] => Object.entries(configOptions);
/** Help is plain text: `code` loses its backticks. */
const plain = (text: string) => text.replaceAll('`', '');

/** Every configuration option, two lines each: flag, variable, values and default; then what it does. */
export function configHelp(): string {
  return options()
    .map(([name, option]) => `  --${name} [${option.env}]  ${plain(option.values)}; default ${plain(option.shownDefault)}\n      ${plain(option.doc)}`)
    .join('\n');
}

/** The README's configuration table (Markdown). */
export function configTable(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = options().map(([name, option]) => {
    const meaning = option.more ? `${option.doc}. ${option.more}` : option.doc;
    return `| \`${option.env}\` | \`--${name}\` | ${cell(option.values)} | ${cell(option.shownDefault)} | ${cell(meaning)} |`;
  });
  return ['| variable | flag | values | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

export const tableStart = '<!-- configuration table: generated from src/config.ts by `npm run docs:config` -->';
export const tableEnd = '<!-- end of configuration table -->';

/** `readme` with the text between the table markers replaced by the current table. Throws without markers. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(tableStart);
  const end = readme.indexOf(tableEnd);
  if (start < 0 || end < start) throw new Error(`README.md lacks the configuration table markers:\n${tableStart}\n${tableEnd}`);
  return `${readme.slice(0, start + tableStart.length)}\n${configTable()}\n${readme.slice(end)}`;
}
