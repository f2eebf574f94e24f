/** What went wrong, in a form a program can branch on. */
export type FlashMlaErrorCode =
  | 'invalid_argument' // a shape, dtype, value or option that the contract does not allow
  | 'metadata_mismatch' // scheduler metadata planned for other inputs
  | 'out_of_memory' // a pool or device allocation could not be satisfied
  | 'backend_unavailable' // the requested backend cannot run here (no driver, no adapter, ...)
  | 'driver_error' // a CUDA / WebGPU call failed
  | 'disposed'; // an object used after dispose()

/**
 * The one error type of the library. For argument errors, `argument` names the argument, `expected` and `got`
 * say what the contract wanted and what it was given, so a message reads "q: expected shape [b, sQ, hQ, 576], got [2, 1, 16, 512]".
 */
export class FlashMlaError extends Error {
  override readonly name = 'FlashMlaError';
  constructor(
    readonly code: FlashMlaErrorCode,
    message: string,
    readonly argument?: string,
    readonly expected?: string,
    readonly got?: string,
  ) {
    super(message);
  }
}

export function invalidArgument(argument: string, expected: string, got: string, why?: string): FlashMlaError {
  const msg = `${argument}: expected ${expected}, got ${got}${why ? ` (${why})` : ''}`;
  return new FlashMlaError('invalid_argument', msg, argument, expected, got);
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
