/** Where a training-benchmark run goes (Node side): stdout, --json FILE, bench/RESULTS.md. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeResultsSection } from '../results.js';
import type { BenchRun } from './core.js';
import { trainReport } from './report.js';
import { optionValue } from './scenarios.js';

/** A saved run: the BenchRun with the command line and notes its report was written with. */
export type SavedRun = BenchRun & { command: string; notes: string[] };

/** RESULTS.md section of a run: runtimes, and software adapters and GPUs, kept apart. */
export function sectionOf(run: BenchRun): string {
  const runtime = /chrom/i.test(run.runtime) ? 'chromium' : 'node';
  return `bench:train:${runtime}${run.adapter.isFallback ? '' : ':gpu'}`;
}

/** Writes the run so far to --json FILE, if given (after each scenario: a failure keeps the rest). */
export function saveJson(run: BenchRun, command: string, notes: string[], args: readonly string[]): void {
  const json = optionValue(args, '--json');
  if (!json) return;
  mkdirSync(dirname(json), { recursive: true });
  const saved: SavedRun = { ...run, command, notes };
  writeFileSync(json, JSON.stringify(saved, null, 2));
}

/** Prints the report; writes the JSON (--json FILE) and the RESULTS.md section (--write-results). */
export function finishRun(run: BenchRun, command: string, notes: string[], args: readonly string[]): string {
  const report = trainReport(run, { command, notes });
  console.log(`\n${report}`);
  saveJson(run, command, notes, args);
  if (args.includes('--write-results')) writeResultsSection(sectionOf(run), report);
  return report;
}
