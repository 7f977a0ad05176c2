/**
 * The benchmarks' command-line options: `--name value` pairs read from process.argv, with the
 * checks every bench wants (positive integers, comma-separated lists of them).
 */
export interface BenchArgs {
  /** The raw arguments (for flags such as --software and --no-profile). */
  readonly args: readonly string[];
  /** The value after `name`, if given. */
  readonly value: (name: string) => string | undefined;
  /** A positive integer option, or `fallback`. */
  readonly positiveInt: (name: string, fallback: number) => number;
  /** A comma-separated list of positive integers, or `fallback` ('32,128'). */
  readonly intList: (name: string, fallback: string) => number[];
}

export function benchArgs(args: readonly string[] = process.argv.slice(2)): BenchArgs {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return {
    args,
    value,
    positiveInt: (name, fallback) => {
      const v = Number(value(name) ?? fallback);
      if (!Number.isSafeInteger(v) || v <= 0) {
        throw new RangeError(`${name} must be a positive integer, got ${value(name)}`);
      }
      return v;
    },
    intList: (name, fallback) => {
      return (value(name) ?? fallback).split(',').map((s) => {
        const b = Number(s);
        if (!Number.isSafeInteger(b) || b <= 0)
          throw new RangeError(`${name}: "${s}" is not a positive integer`);
        return b;
      });
    },
  };
}
