// Running nasm: finding it, assembling a source into a binary plus a listing and a map file, and
// turning its messages into located diagnostics.
//
// Symbols come from a map file. nasm writes one for `-f bin` only through the `[map all FILE]`
// directive; we put that directive in a file given with -P (pre-include), so the user's source
// stays untouched. (nasm splits the directive's file name at spaces and ignores quotes, so the
// map goes into a temporary directory whose path has none.)
//
// nasm 2.16 looks for %include files relative to its working directory and the -I prefixes, not
// next to the including file; we add the source's own directory as an -I prefix so sources that
// include their neighbours assemble from anywhere, as users expect.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GuestLoadError, NasmError, type NasmDiagnostic } from './loaders/errors';
import { includeResolver, parseListing, parseNasmMap, type LineMap, type NasmMap } from './loaders/listing';
import type { GuestSymbol } from './loaders/types';

export { NasmError } from './loaders/errors';
export type { NasmDiagnostic } from './loaders/errors';

const INSTALL_HINT = 'install it (apt-get install nasm on Debian/Ubuntu) or set RINGSIDE_NASM or the launch attribute nasmPath to its path';

export interface NasmLocation {
  path: string;
  /** Where the path came from, for messages. */
  from: 'RINGSIDE_NASM' | 'nasmPath' | 'PATH';
}

/** Finds nasm: $RINGSIDE_NASM, else the nasmPath option, else the PATH. Throws a GuestLoadError. */
export function findNasm(nasmPath?: string, env: NodeJS.ProcessEnv = process.env): NasmLocation {
  const fromEnv = env.RINGSIDE_NASM;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new GuestLoadError(`nasm not found: RINGSIDE_NASM is ${fromEnv}, which is not an executable file; ${INSTALL_HINT}`);
    return { path: fromEnv, from: 'RINGSIDE_NASM' };
  }
  if (nasmPath) {
    if (!isExecutable(nasmPath)) throw new GuestLoadError(`nasm not found: nasmPath is ${nasmPath}, which is not an executable file; ${INSTALL_HINT}`);
    return { path: nasmPath, from: 'nasmPath' };
  }
  const exts = process.platform === 'win32' ? ['.exe', ''] : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = path.join(dir, 'nasm' + ext);
      if (isExecutable(p)) return { path: p, from: 'PATH' };
    }
  }
  throw new GuestLoadError(`nasm not found on the PATH; ${INSTALL_HINT}`);
}

function isExecutable(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface AssembleOptions {
  /** The source file; relative paths are taken from `cwd`. */
  source: string;
  /** nasm's working directory (default: the current one). %include names resolve from here. */
  cwd?: string;
  nasmPath?: string;
  /** Extra arguments, placed before Ringside's own. `-f FMT` replaces the default `-f bin`. */
  nasmArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Keep the outputs in this directory (created if needed) instead of a temporary one. */
  outDir?: string;
}

export interface AssembleResult {
  /** The assembled image. */
  binary: Uint8Array;
  /** Output format nasm was asked for ('bin' unless nasmArgs said otherwise). */
  format: string;
  listing: string;
  /** The parsed map file (bin format only). */
  map?: NasmMap;
  lineMap?: LineMap;
  symbols: GuestSymbol[];
  /** Warnings (an assembly with errors throws NasmError). */
  diagnostics: NasmDiagnostic[];
  /** Paths of the kept outputs, when outDir was given. */
  outputs?: { binary: string; listing: string; map?: string };
}

/** Assembles a source with nasm. Throws GuestLoadError (missing file, no nasm) or NasmError. */
export function assemble(opts: AssembleOptions): AssembleResult {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const source = path.resolve(cwd, opts.source);
  if (!fs.existsSync(source)) throw new GuestLoadError(`${opts.source}: no such file`, opts.source);
  const nasm = findNasm(opts.nasmPath, opts.env);
  const userArgs = opts.nasmArgs ?? [];
  const format = outputFormat(userArgs) ?? 'bin';

  const keep = opts.outDir !== undefined;
  const dir = keep ? path.resolve(cwd, opts.outDir!) : makeTempDir();
  if (keep) fs.mkdirSync(dir, { recursive: true });
  const base = path.basename(source).replace(/\.[^.]*$/, '');
  const out = path.join(dir, base + (format === 'bin' ? '.bin' : '.o'));
  const lst = path.join(dir, base + '.lst');
  const mapFile = path.join(dir, base + '.map');
  const wantMap = format === 'bin' && !/\s/.test(mapFile);
  const sourceDir = path.dirname(source) + path.sep;
  const includeDirs = [...includeArgs(userArgs), sourceDir];

  const args = [...(outputFormat(userArgs) ? [] : ['-f', 'bin']), ...userArgs, '-I', sourceDir];
  if (wantMap) {
    const pre = path.join(dir, base + '.pre.inc');
    fs.writeFileSync(pre, `[map all ${mapFile}]\n`);
    args.push('-P', pre);
  }
  args.push('-l', lst, '-o', out, opts.source);

  try {
    const run = spawnSync(nasm.path, args, { cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.error) throw new GuestLoadError(`could not run nasm (${nasm.path}): ${run.error.message}`);
    const resolveFile = (f: string) => resolveDiagnosticFile(f, cwd, includeDirs);
    const diagnostics = parseNasmDiagnostics(run.stderr ?? '', resolveFile);
    if (run.status !== 0) {
      const first = diagnostics.find((d) => d.severity === 'error');
      const firstLine = (run.stderr ?? '').split(/\r?\n/).find((l) => l.trim()) ?? `nasm exited with status ${run.status}`;
      throw new NasmError(first ? first.text : firstLine.trim(), diagnostics, opts.source);
    }
    const binary = new Uint8Array(fs.readFileSync(out));
    const listing = fs.existsSync(lst) ? fs.readFileSync(lst, 'utf8') : '';
    const map = wantMap && fs.existsSync(mapFile) ? parseNasmMap(fs.readFileSync(mapFile, 'utf8')) : undefined;
    const lineMap =
      format === 'bin' && listing
        ? parseListing(listing, {
            mainFile: source,
            resolveInclude: includeResolver(cwd, includeDirs),
            sections: map?.sections,
            origin: map?.origin ?? 0,
            image: binary,
          })
        : undefined;
    return {
      binary,
      format,
      listing,
      map,
      lineMap,
      symbols: map?.symbols ?? [],
      diagnostics: diagnostics.filter((d) => d.severity === 'warning'),
      outputs: keep ? { binary: out, listing: lst, map: wantMap ? mapFile : undefined } : undefined,
    };
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function makeTempDir(): string {
  const tmp = os.tmpdir();
  const root = /\s/.test(tmp) && process.platform !== 'win32' ? '/tmp' : tmp;
  return fs.mkdtempSync(path.join(root, 'ringside-nasm-'));
}

/** The `-f FMT` / `-fFMT` / `--format FMT` value in nasm arguments, if any. */
function outputFormat(args: string[]): string | undefined {
  let fmt: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === '-f' || a === '--format') && i + 1 < args.length) fmt = args[++i];
    else if (a.startsWith('-f') && a.length > 2) fmt = a.slice(2);
  }
  return fmt;
}

function includeArgs(args: string[]): string[] {
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === '-I' || a === '-i') && i + 1 < args.length) dirs.push(args[++i]);
    else if ((a.startsWith('-I') || a.startsWith('-i')) && a.length > 2) dirs.push(a.slice(2));
  }
  return dirs;
}

function resolveDiagnosticFile(f: string, cwd: string, includeDirs: string[]): string {
  const direct = path.resolve(cwd, f);
  if (fs.existsSync(direct)) return direct;
  for (const d of includeDirs) {
    const p = path.resolve(cwd, d + f);
    if (fs.existsSync(p)) return p;
  }
  return direct;
}

const RE_DIAG = /^(.*?):(\d+): (error|warning|fatal|panic|note|info|debug): (.*)$/;
const RE_NOTE = /^(.*?):(\d+): \.\.\. (.*)$/;

/**
 * Parses nasm's stderr: `file:line: severity: message`, followed by `file:line: ... from macro
 * 'X' defined here` notes. `nasm: fatal: ...` lines (no file) are kept with line 0.
 */
export function parseNasmDiagnostics(stderr: string, resolveFile: (f: string) => string = (f) => f): NasmDiagnostic[] {
  const out: NasmDiagnostic[] = [];
  for (const raw of stderr.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (!line) continue;
    let m = RE_NOTE.exec(line);
    if (m && out.length) {
      (out[out.length - 1].notes ??= []).push({ file: resolveFile(m[1]), line: Number(m[2]), message: m[3] });
      continue;
    }
    m = RE_DIAG.exec(line);
    if (m) {
      const severity = m[3] === 'warning' ? 'warning' : m[3] === 'error' || m[3] === 'fatal' || m[3] === 'panic' ? 'error' : undefined;
      if (!severity) continue;
      out.push({ file: resolveFile(m[1]), line: Number(m[2]), severity, message: m[4], text: line });
      continue;
    }
    const bare = /^nasm: (error|fatal|panic|warning): (.*)$/.exec(line);
    if (bare) out.push({ file: '', line: 0, severity: bare[1] === 'warning' ? 'warning' : 'error', message: bare[2], text: line });
  }
  return out;
}
