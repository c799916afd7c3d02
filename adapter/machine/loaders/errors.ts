// Errors a user can cause by pointing Ringside at a bad guest. Each message is one line that names
// the file and the problem; front ends print `ringside: <message>` and never the stack.

export class GuestLoadError extends Error {
  /** The file the problem is about, when there is one. */
  readonly file?: string;

  constructor(message: string, file?: string) {
    super(message);
    this.name = 'GuestLoadError';
    this.file = file;
  }
}

export type DiagnosticSeverity = 'error' | 'warning';

/** One nasm message, located in a source file. `file` is absolute when the file could be found. */
export interface NasmDiagnostic {
  file: string;
  line: number;
  severity: DiagnosticSeverity;
  message: string;
  /** The line as nasm printed it (`file:line: error: msg`), path as nasm spelled it. */
  text: string;
  /** `... from macro 'X' defined here` notes that follow the message. */
  notes?: { file: string; line: number; message: string }[];
}

/** A failed assembly. Its message is the first error as nasm printed it. */
export class NasmError extends GuestLoadError {
  readonly diagnostics: NasmDiagnostic[];

  constructor(message: string, diagnostics: NasmDiagnostic[], file?: string) {
    super(message, file);
    this.name = 'NasmError';
    this.diagnostics = diagnostics;
  }
}

/** Formats an address the way every loader message does: 1048576 -> "0x100000". */
export function hex(n: number): string {
  return '0x' + (n < 0 ? n >>> 0 : n).toString(16);
}
