// Runs guest images under Ringside's headless runner and under QEMU TCG, for the guest and
// sample tests: assemble with nasm, run, capture COM1 (stdout) and the exit status, and
// describe a mismatch as a line diff that a person can read.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file's directory, whether tsx runs it as CommonJS or as an ES module.
const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const cliPath = join(repoRoot, 'dist', 'cli.js');

/** How an image boots: a multiboot kernel, a 512-byte boot sector, a floppy or a hard disk image. */
export type BootKind = 'multiboot' | 'boot' | 'floppy' | 'disk';

/**
 * How a guest test's source boots: a line `; image: floppy` or `; image: disk` marks a boot image
 * (test/guests/lib/boot16.inc); the others are multiboot kernels (lib/guest.inc).
 */
export function guestKind(source: string): BootKind {
  const m = /^; image: (floppy|disk)\s*$/m.exec(readFileSync(source, 'latin1'));
  return m ? (m[1] as BootKind) : 'multiboot';
}

/** The status a run ends with when the guest writes v to port 0xF4: (v << 1) | 1. */
export function exitPortStatus(value: number): number {
  return ((value << 1) | 1) & 0xff;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Process exit status; null when killed by a signal (e.g. the timeout). */
  status: number | null;
  timedOut: boolean;
  command: string;
}

/** A scratch directory for assembled images, removed with the process's temp dir. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ringside-${prefix}-`));
}

function nasmCommand(): string {
  return process.env.RINGSIDE_NASM ?? 'nasm';
}

export function haveNasm(): boolean {
  return spawnSync(nasmCommand(), ['-v'], { encoding: 'utf8' }).status === 0;
}

export function haveQemu(): boolean {
  return spawnSync('qemu-system-i386', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Assemble `source` (flat binary) into `outFile`; include paths: the source's directory. */
export function assemble(source: string, outFile: string): void {
  const r = spawnSync(nasmCommand(), ['-f', 'bin', '-i', dirname(source) + '/', '-o', outFile, source], {
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`nasm could not be started: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`nasm failed on ${source}:\n${r.stderr}`);
}

/** Where a run's stdout is collected: a file, created on first use, removed when the process exits. */
let outDir: string | undefined;
let outCount = 0;
function stdoutFile(): string {
  if (outDir === undefined) {
    const dir = scratchDir('stdout');
    outDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(outDir, `run-${process.pid}-${outCount++}.out`);
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const command = [cmd, ...args].join(' ');
  // stdout goes to a file, not a pipe: QEMU writes each serial byte with its own non-blocking write,
  // and a socket the (busy) test process drains late fills after a few hundred of them; the bytes
  // QEMU then holds back for a retry are lost when the guest exits through port 0xF4 right after.
  const outPath = stdoutFile();
  const outFd = openSync(outPath, 'w');
  return new Promise((done) => {
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', outFd, 'pipe'] });
    } finally {
      closeSync(outFd);
    }
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const stdout = (): string => {
      const text = existsSync(outPath) ? readFileSync(outPath).toString('latin1') : '';
      rmSync(outPath, { force: true });
      return text;
    };
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      done({ stdout: stdout(), stderr: String(e), status: null, timedOut, command });
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      done({
        stdout: stdout(),
        stderr: Buffer.concat(err).toString('utf8'),
        status,
        timedOut,
        command,
      });
    });
  });
}

/** Guest RAM on both sides: `ringside run`'s default (QEMU's would be 128 MiB), so memory maps agree. */
export const RAM_MIB = 64;

/** QEMU's command line for an image (see shared/notes/peers.md). */
export function qemuArgs(image: string, kind: BootKind, cpu?: string): string[] {
  const args = ['-accel', 'tcg'];
  if (cpu) args.push('-cpu', cpu);
  args.push(
    '-m', String(RAM_MIB), '-display', 'none', '-monitor', 'none', '-no-reboot', '-serial', 'stdio',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  );
  // snapshot=on: the guest's disk writes stay out of the image file, as under `ringside run`.
  if (kind === 'multiboot') args.push('-kernel', image);
  else args.push('-drive', `file=${image},format=raw,if=${kind === 'disk' ? 'ide' : 'floppy'},snapshot=on`);
  return args;
}

/** The CPU the guest tests ask QEMU for: a P6 with PSE, PAE, PGE, SEP and NX. */
export const GUEST_CPU = 'pentium3,+nx';

export function runQemu(image: string, kind: BootKind, cpu?: string, timeoutMs = 20_000): Promise<RunResult> {
  return run('qemu-system-i386', qemuArgs(image, kind, cpu), timeoutMs);
}

/** Ringside's runner: COM1 on stdout, the guest's exit status as the process status. */
export function runRingside(image: string, kind: BootKind, timeoutMs = 60_000): Promise<RunResult> {
  if (!existsSync(cliPath)) {
    return Promise.resolve({
      stdout: '',
      stderr: `${cliPath} does not exist: run \`npm run build\` first`,
      status: null,
      timedOut: false,
      command: `node ${cliPath} run ${image} --format ${kind}`,
    });
  }
  return run(process.execPath, [cliPath, 'run', image, '--format', kind, '--max-instructions', '500000000'], timeoutMs);
}

/** Runs async jobs with at most `limit` at a time (QEMU runs in parallel, within reason). */
export function limiter(limit: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (active >= limit || queue.length === 0) return;
    active++;
    queue.shift()!();
  };
  return <T>(job: () => Promise<T>) =>
    new Promise<T>((resolveJob, rejectJob) => {
      queue.push(() => {
        job().then(resolveJob, rejectJob).finally(() => {
          active--;
          next();
        });
      });
      next();
    });
}

/** A line diff (longest common subsequence), "-" expected, "+" actual, with 2 lines of context. */
export function lineDiff(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows: Array<[' ' | '-' | '+', string]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      rows.push([' ', a[i]]);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      rows.push(['+', b[j++]]);
    } else {
      rows.push(['-', a[i++]]);
    }
  }
  const keep = rows.map((r, k) => rows.slice(Math.max(0, k - 2), k + 3).some((x) => x[0] !== ' '));
  const out: string[] = [];
  let skipped = false;
  rows.forEach((r, k) => {
    if (keep[k]) {
      out.push(`${r[0]} ${JSON.stringify(r[1]).slice(1, -1)}`);
      skipped = false;
    } else if (!skipped) {
      out.push('  ...');
      skipped = true;
    }
  });
  return out.join('\n');
}

/** The failure text for two outputs that should be equal, or null when they are. */
export function describeMismatch(what: string, expected: string, result: RunResult): string | null {
  if (result.stdout === expected) return null;
  const lines = [
    `${what}: serial output differs (- expected, + actual)`,
    `command: ${result.command}`,
    lineDiff(expected, result.stdout),
  ];
  if (result.timedOut) lines.push('(the run was killed by the test timeout)');
  if (result.stderr.trim()) lines.push(`stderr:\n${result.stderr.trim()}`);
  return lines.join('\n');
}
