// How each engine boots one benchmark floppy image and how long it takes.
// Every runner returns { seconds, cpuSeconds?, output, note?, marks? }: wall
// time of the run, CPU time of its process, and the guest's serial output. Spawned engines are timed from spawn to process
// exit; v86 runs in a child Node process that times itself from the
// emulator's construction to the guest's exit-port write.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');

const TIME = '/usr/bin/time';
const haveTime = existsSync(TIME);
let timeFileSeq = 0;

/**
 * Spawns a command, collects stdout+stderr, times it: wall time from spawn to
 * exit and, through /usr/bin/time when present, the CPU time (user + system)
 * of the process, which other load on a shared machine disturbs less.
 * Kills the whole process group after timeoutS.
 */
function timedSpawn(cmd, args, { env, timeoutS, cwd, workDir } = {}) {
  return new Promise((resolve) => {
    const timeFile = haveTime && workDir ? path.join(workDir, `time-${process.pid}-${timeFileSeq++}.txt`) : undefined;
    const [file, argv] = timeFile ? [TIME, ['-f', '%U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills everything
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ seconds: NaN, stdout, stderr: `${stderr}${err.message}`, code: null, timedOut });
    });
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      let cpuSeconds;
      if (timeFile && existsSync(timeFile)) {
        // /usr/bin/time may prefix "Command exited with non-zero status N"
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop();
        const [u, sys] = last.split(' ').map(Number);
        if (Number.isFinite(u) && Number.isFinite(sys)) cpuSeconds = u + sys;
        rmSync(timeFile, { force: true });
      }
      // /usr/bin/time passes the command's status through
      resolve({ seconds, cpuSeconds, stdout, stderr, code, timedOut });
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
  async run(image, { timeoutS, workDir }) {
    const r = await timedSpawn(
      'qemu-system-i386',
      [
        '-accel', 'tcg', '-display', 'none', '-monitor', 'none', '-no-reboot',
        '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
        '-drive', `if=floppy,index=0,format=raw,file=${image}`,
      ],
      { timeoutS, workDir },
    );
    // the guest writes 0 to the exit port: QEMU's status is (0 << 1) | 1
    const note = r.timedOut ? 'timeout' : r.code === 1 ? undefined : `exit ${r.code}: ${tail(r.stderr)}`;
    return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, output: r.stdout, note };
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
      workDir,
    });
    const output = readFileSync(com1, 'latin1');
    const note = r.timedOut
      ? 'timeout'
      : /Shutdown port: shutdown requested/.test(r.stdout + r.stderr)
        ? undefined
        : `no shutdown: ${tail(r.stdout + r.stderr)}`;
    return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, output, note };
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
    async run(image, { timeoutS, workDir }) {
      const args = [path.join(HERE, 'v86-run.mjs'), image, '--timeout', String(timeoutS)];
      if (!jit) args.push('--no-jit');
      const r = await timedSpawn(process.execPath, args, { timeoutS: timeoutS + 30, cwd: REPO, workDir });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) return { seconds: NaN, output: '', note: `v86 runner failed: ${tail(r.stderr)}` };
      const res = JSON.parse(line);
      return {
        seconds: res.ms / 1000,
        cpuSeconds: r.cpuSeconds,
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
    async run(image, { timeoutS, workDir }) {
      const r = await timedSpawn(process.execPath, [cli, 'run', image, '--format', 'floppy', ...extra], {
        timeoutS,
        cwd: REPO,
        workDir,
      });
      const note = r.timedOut ? 'timeout' : r.code === null ? 'killed' : undefined;
      const output = r.stdout + (/RSBENCH/.test(r.stdout) ? '' : r.stderr);
      const failed = /RSBENCH/.test(r.stdout) ? undefined : `exit ${r.code}: ${tail(r.stderr)}`;
      return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, output, note: note ?? failed };
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
/** The runner arguments of each hypervisor mode `--modes` accepts; none is plain Ringside. */
export const MODE_ARGS = {
  'vtx+ept': ['--mode', 'vtx', '--memory-virt', 'ept'],
  'vtx+shadow': ['--mode', 'vtx', '--memory-virt', 'shadow'],
  'trap-and-emulate': ['--mode', 'trap-and-emulate'],
  'binary-translation': ['--mode', 'binary-translation'],
  paravirt: ['--mode', 'paravirt'],
};

export function makeEngines({ ringsideArgs = [], overheadArgs = [], modes = [] } = {}) {
  const engines = {
    ringside: ringsideEngine('ringside', ringsideArgs),
    qemu,
    bochs,
    v86: v86Engine(true),
    'v86-nojit': v86Engine(false),
  };
  if (overheadArgs.length) engines['ringside+dbg'] = ringsideEngine('ringside+dbg', [...ringsideArgs, ...overheadArgs]);
  for (const m of modes) {
    if (!MODE_ARGS[m]) throw new Error(`unknown mode ${m} (one of ${Object.keys(MODE_ARGS).join(', ')})`);
    engines[`ringside@${m}`] = { ...ringsideEngine(`ringside@${m}`, [...ringsideArgs, ...MODE_ARGS[m]]), label: ['Ringside', m, ...ringsideArgs].join(' ') };
  }
  return engines;
}
