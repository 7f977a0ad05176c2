/**
 * Error types raised by the GPU layer. Each names the problem (which limit, which line of
 * which shader, which buffer) so that a user can act on the message alone.
 */

/**
 * Why WebGPU could not be started. One class with a `code`, rather than a subclass per
 * cause, so that `catch (e) { if (e instanceof GPUInitError) switch (e.code) ... }` covers
 * every cause, and so that checkWebGPU() can return the same code without throwing.
 */
export type GPUInitErrorCode =
  /** Node: the optional `webgpu` package (Dawn) is not installed or does not load here. */
  | 'dawn-missing'
  /** No WebGPU entry point: a browser without navigator.gpu, or Node without the Node entry. */
  | 'no-webgpu'
  /** A browser page that is not a secure context (http:// other than localhost): no navigator.gpu. */
  | 'insecure-context'
  /** WebGPU is there, but it gave no adapter (of the kind asked for). */
  | 'no-adapter'
  /** The adapter refused to create a device. */
  | 'device-refused'
  /** initEngine() was given an option value it does not know. */
  | 'bad-option'
  /** currentEngine() (or tensor()) was called before initEngine(). */
  | 'no-engine';

/**
 * No usable WebGPU adapter or device could be obtained. `code` says why (see
 * GPUInitErrorCode), `reason` what was found, `advice` what the user can do about it; the
 * message is the two joined.
 */
export class GPUInitError extends Error {
  override name = 'GPUInitError';
  constructor(
    readonly code: GPUInitErrorCode,
    readonly reason: string,
    readonly advice = '',
    options?: ErrorOptions,
  ) {
    super(advice ? `${reason} ${advice}` : reason, options);
  }
}

/** A requested size is over one of the adapter's limits; nothing was created. */
export class GPULimitError extends Error {
  override name = 'GPULimitError';
  constructor(
    message: string,
    readonly limit: string,
    readonly limitValue: number,
    readonly requested: number,
  ) {
    super(message);
  }
}

/** The device reported a validation or out-of-memory error for a labelled operation. */
export class GPUOperationError extends Error {
  override name = 'GPUOperationError';
  constructor(
    message: string,
    readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'unknown',
  ) {
    super(message);
  }
}

/**
 * The GPU device was lost; every engine object made from it is unusable. Tensors and datasets
 * made on it are gone; a model keeps a host copy of its weights and optimizer state (fit
 * refreshes it at every epoch end) and carries on once initEngine() gave a new engine.
 */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(
    readonly reason: string,
    readonly detail: string,
    /**
     * Set when fit() was interrupted: the epoch to pass as initialEpoch to resume (the model
     * holds the weights and optimizer state of the end of the epoch before it).
     */
    readonly resumeEpoch?: number,
  ) {
    super(
      `GPU device was lost (reason: ${reason})${detail ? `: ${detail}` : ''}. ` +
        (resumeEpoch === undefined
          ? 'Tensors and datasets made on it are gone; call initEngine() again to get a working engine ' +
            '(models keep their weights).'
          : `The model kept its weights and optimizer state as of ${resumeEpoch === 0 ? 'the start of fit' : `the end of epoch ${resumeEpoch}`}; ` +
            `call initEngine() again, then fit with initialEpoch: ${resumeEpoch} to resume.`),
    );
  }
}

/** One diagnostic of a WGSL compilation, located in the shader's source. */
export interface CompileDiagnostic {
  type: 'error' | 'warning' | 'info';
  message: string;
  /** 1-based line and column, as getCompilationInfo() reports them. */
  line: number;
  column: number;
  length: number;
}

/** A WGSL shader failed to compile. The message carries `line:col`, the text and the source line. */
export class ShaderCompileError extends Error {
  override name = 'ShaderCompileError';
  constructor(
    readonly label: string,
    readonly diagnostics: readonly CompileDiagnostic[],
    readonly source: string,
  ) {
    super(formatCompileMessage(label, diagnostics, source));
  }
}

/**
 * Renders compiler diagnostics as
 *   `label: 12:5 error: unresolved value 'foo'` followed by the source line and a caret.
 */
export function formatCompileMessage(
  label: string,
  diagnostics: readonly CompileDiagnostic[],
  source: string,
): string {
  const lines = source.split('\n');
  const errors = diagnostics.filter((d) => d.type === 'error');
  const shown = errors.length > 0 ? errors : diagnostics;
  const parts = [`WGSL compilation failed for shader "${label}" (${errors.length} error(s))`];
  for (const d of shown) {
    parts.push(`  ${d.line}:${d.column} ${d.type}: ${d.message}`);
    const text = lines[d.line - 1];
    if (text !== undefined) {
      const gutter = `${d.line} | `;
      parts.push(`    ${gutter}${text}`);
      const caret = ' '.repeat(Math.max(0, d.column - 1)) + '^'.repeat(Math.max(1, d.length));
      parts.push(`    ${' '.repeat(gutter.length)}${caret}`);
    }
  }
  return parts.join('\n');
}
