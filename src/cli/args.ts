// Argument parsing shared by the commands: node:util parseArgs in strict mode, numbers checked with their
// range, and one error type whose message is a single line for the user.
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in the command line: main() prints it on one line and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly command?: string) { super(message); }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parse argv for `command` with its options plus --help; unknown flags and stray positionals are usage errors. */
export function parse<O extends Options>(command: string, argv: string[], options: O): { values: Record<string, string | boolean | undefined>; help: boolean } {
  // parseArgs reads "--reps -3" as two options; join a value that looks like a negative number to its option so the
  // range check below reports it like "--reps=-3".
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : undefined;
    if (name && !name.includes('=') && options[name]?.type === 'string' && /^-\d|^-\.\d|^-Infinity$/.test(argv[i + 1] ?? '')) {
      args.push(`${argv[i]}=${argv[++i]}`);
    } else args.push(argv[i]);
  }
  try {
    const { values } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    const v = values as Record<string, string | boolean | undefined>;
    return { values: v, help: v.help === true };
  } catch (e) {
    // Node's messages carry a second sentence about '--' that does not help here.
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new UsageError(msg, command);
  }
}

export function intArg(name: string, v: string | boolean | undefined, dflt: number, min = 1, max = 1 << 30): number {
  if (v === undefined) return dflt;
  const s = String(v).trim();
  const n = /^[+]?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer in ${min}..${max}, got '${String(v)}'`);
  return n;
}

/** A comma-separated list of integers, e.g. --heads 128,16. */
export function intListArg(name: string, v: string | boolean | undefined, dflt: number[], min = 1, max = 1 << 30): number[] {
  if (v === undefined) return dflt;
  const parts = String(v).split(',').filter((p) => p.trim() !== '');
  if (parts.length === 0) throw new UsageError(`--${name}: expected a comma-separated list of integers, got '${String(v)}'`);
  return parts.map((p) => intArg(name, p, 0, min, max));
}

export function choiceArg<T extends string>(name: string, v: string | boolean | undefined, choices: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!choices.includes(v as T)) throw new UsageError(`--${name}: expected one of ${choices.join(', ')}, got '${String(v)}'`);
  return v as T;
}

export function stringArg(v: string | boolean | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}
