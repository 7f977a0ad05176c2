/** Writes one benchmark's section of bench/RESULTS.md, between its marker comments. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const RESULTS = new URL('./RESULTS.md', import.meta.url);

export function writeResultsSection(key: string, body: string): void {
  const start = `<!-- ${key} -->`;
  const end = `<!-- /${key} -->`;
  if (!existsSync(RESULTS)) {
    throw new Error(
      `--write-results: ${RESULTS.pathname} does not exist (a single-file build runs away from the ` +
        `repository): save the run with --json FILE and render it in the repository with ` +
        `\`npm run bench -- --report FILE --write-results\``,
    );
  }
  const text = readFileSync(RESULTS, 'utf8');
  const block = `${start}\n\n${body.trim()}\n\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, next);
}
