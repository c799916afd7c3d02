// How each engine boots one benchmark floppy image and how long it takes.
// Every runner returns { seconds, output, note? }: wall time of the run and
// the guest's serial output. Spawned engines are timed from spawn to process
// exit; v86 runs in a child Node process that times itself from the
// emulator's construction to the guest's exit-port write.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');

/** Spawns a command, collects stdout+stderr, times it; kills it after timeoutS. */
function timedSpawn(cmd, args, { env, timeoutS, cwd } = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ seconds: NaN, stdout, stderr: `${stderr}${err.message}`, code: null, timedOut });
    });
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      resolve({ seconds, stdout, stderr, code, timedOut });
    });
  });
}

function tail(text, n = 300) {
  const t = text.trim();
  return t.length > n ? `...${t.slice(-n)}` : t;
}

const qemu = {
  name: 'qemu',
  label: 'QEMU TCG',
  available: () => spawnSync('qemu-system-i386', ['--version']).status === 0,
  version: () => spawnSync('qemu-system-i386', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0],
  async run(image, { timeoutS }) {
    const r = await timedSpawn(
      'qemu-system-i386',
      [
        '-accel', 'tcg', '-display', 'none', '-monitor', 'none', '-no-reboot',
        '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
        '-drive', `if=floppy,index=0,format=raw,file=${image}`,
      ],
      { timeoutS },
    );
    // the guest writes 0 to the exit port: QEMU's status is (0 << 1) | 1
    const note = r.timedOut ? 'timeout' : r.code === 1 ? undefined : `exit ${r.code}: ${tail(r.stderr)}`;
    return { seconds: r.seconds, output: r.stdout, note };
  },
};

const BOCHS_BIOS = '/usr/share/bochs/BIOS-bochs-latest';
const BOCHS_VGA = '/usr/share/vgabios/vgabios.bin';

const bochs = {
  name: 'bochs',
  label: 'Bochs',
  available: () =>
    spawnSync('sh', ['-c', 'command -v bochs']).status === 0 &&
    existsSync(BOCHS_BIOS) &&
    existsSync('/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_sdl2_gui.so'),
  missing: 'needs bochs, bochsbios, vgabios and bochs-sdl (the sdl2 display plugin)',
  version: () => 'Bochs 2.7 (Debian build, debugger and instrumentation on)',
  async run(image, { timeoutS, workDir }) {
    const com1 = path.join(workDir, 'bochs-com1.txt');
    const rc = path.join(workDir, 'bochsrc');
    const cmds = path.join(workDir, 'bochs-cmds');
    writeFileSync(com1, '');
    writeFileSync(cmds, 'c\n'); // the debugger build stops at its prompt otherwise
    writeFileSync(
      rc,
      [
        'megs: 64',
        `romimage: file=${BOCHS_BIOS}`,
        `vgaromimage: file=${BOCHS_VGA}`,
        `floppya: 1_44=${image}, status=inserted`,
        'boot: floppy',
        'display_library: sdl2', // no nogui in Debian's build; SDL_VIDEODRIVER=dummy
        'sound: driver=dummy', // else it aborts loading the ALSA plugin
        'speaker: enabled=0',
        'clock: sync=none',
        `com1: enabled=1, mode=file, dev=${com1}`,
        `log: ${path.join(workDir, 'bochs.log')}`,
        'panic: action=fatal',
        'error: action=report',
        'info: action=ignore',
        'debug: action=ignore',
        '',
      ].join('\n'),
    );
    const r = await timedSpawn('bochs', ['-f', rc, '-rc', cmds], {
      env: { SDL_VIDEODRIVER: 'dummy' },
      timeoutS,
      cwd: workDir,
    });
    const output = readFileSync(com1, 'latin1');
    const note = r.timedOut
      ? 'timeout'
      : /Shutdown port: shutdown requested/.test(r.stdout + r.stderr)
        ? undefined
        : `no shutdown: ${tail(r.stdout + r.stderr)}`;
    return { seconds: r.seconds, output, note };
  },
};

function v86Engine(jit) {
  return {
    name: jit ? 'v86' : 'v86-nojit',
    label: jit ? 'v86 (JIT)' : 'v86 (interpreter)',
    available: () => {
      try {
        return existsSync(path.join(REPO, 'node_modules', 'v86', 'package.json')) && existsSync('/usr/share/seabios/bios.bin');
      } catch {
        return false;
      }
    },
    missing: 'needs the v86 package in node_modules and SeaBIOS in /usr/share/seabios',
    version: () => {
      const pkg = JSON.parse(readFileSync(path.join(REPO, 'node_modules', 'v86', 'package.json'), 'utf8'));
      return `v86 ${pkg.version}${jit ? '' : ' (disable_jit)'} with SeaBIOS`;
    },
    async run(image, { timeoutS }) {
      const args = [path.join(HERE, 'v86-run.mjs'), image, '--timeout', String(timeoutS)];
      if (!jit) args.push('--no-jit');
      const r = await timedSpawn(process.execPath, args, { timeoutS: timeoutS + 30, cwd: REPO });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) return { seconds: NaN, output: '', note: `v86 runner failed: ${tail(r.stderr)}` };
      const res = JSON.parse(line);
      return {
        seconds: res.ms / 1000,
        output: res.output,
        marks: res.marks,
        note: res.reason === 'exit' ? undefined : res.reason,
      };
    },
  };
}

/** Ringside's headless runner; `extra` are more CLI arguments (e.g. the debugger-overhead flags). */
function ringsideEngine(name, extra) {
  const cli = path.join(REPO, 'dist', 'cli.js');
  return {
    name,
    label: extra.length ? `Ringside ${extra.join(' ')}` : 'Ringside',
    extra,
    available: () => existsSync(cli),
    missing: 'dist/cli.js is not built yet (npm run build)',
    version: () => {
      const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
      return `Ringside ${pkg.version}`;
    },
    async run(image, { timeoutS }) {
      const r = await timedSpawn(process.execPath, [cli, 'run', image, '--format', 'floppy', ...extra], {
        timeoutS,
        cwd: REPO,
      });
      const note = r.timedOut ? 'timeout' : r.code === null ? 'killed' : undefined;
      const output = r.stdout + (/RSBENCH/.test(r.stdout) ? '' : r.stderr);
      return { seconds: r.seconds, output, note: note ?? (/RSBENCH/.test(r.stdout) ? undefined : `exit ${r.code}: ${tail(r.stderr)}`) };
    },
  };
}

/** Split a shell-like argument string on blanks, honouring simple quotes. */
export function splitArgs(text) {
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(text ?? ''))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Every engine this benchmark knows, by name. */
export function makeEngines({ ringsideArgs = [], overheadArgs = [] } = {}) {
  const engines = {
    ringside: ringsideEngine('ringside', ringsideArgs),
    qemu,
    bochs,
    v86: v86Engine(true),
    'v86-nojit': v86Engine(false),
  };
  if (overheadArgs.length) engines['ringside+dbg'] = ringsideEngine('ringside+dbg', [...ringsideArgs, ...overheadArgs]);
  return engines;
}
