import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunArgs, parseRunOptions, UsageError, usageText, ACCEPTED_MODES, type RunOptions } from '../adapter/cliargs';

function usageError(argv: string[]): string {
  try {
    parseRunArgs(argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.equal(e.exitStatus, 2);
    return e.message;
  }
  assert.fail(`expected ${argv.join(' ')} to be refused`);
}

function runOpts(argv: string[]): RunOptions {
  const r = parseRunArgs(['run', ...argv]);
  assert.equal(r.kind, 'run');
  return (r as { options: RunOptions }).options;
}

test('defaults', () => {
  assert.deepEqual(runOpts(['kernel.asm']), {
    guest: 'kernel.asm', mode: 'none', memoryVirt: undefined, ramMiB: 64, format: 'auto', modules: [],
    stats: false, realtime: false, vga: false, noTlbReuse: false, benchBreakpoints: 0, benchEvents: false,
  });
});

test('every option, in both spellings, before and after the guest', () => {
  const o = runOpts([
    '--ram', '128', '--format=multiboot', 'k.elf', '--cmdline', '-v quiet', '--module', 'initrd.img,root=/dev/ram',
    '--module=font.psf', '--stats', '--max-instructions', '0x1000', '--realtime', '--vga', '--debugcon', 'e9.log',
    '--save-disk=out.img', '--mode', 'none', '--no-tlb-reuse', '--bench-breakpoints', '100', '--bench-events=all',
  ]);
  assert.deepEqual(o, {
    guest: 'k.elf', mode: 'none', memoryVirt: undefined, ramMiB: 128, format: 'multiboot', cmdline: '-v quiet',
    modules: [{ path: 'initrd.img', cmdline: 'root=/dev/ram' }, { path: 'font.psf' }],
    stats: true, maxInstructions: 4096, realtime: true, vga: true, debugcon: 'e9.log', saveDisk: 'out.img',
    noTlbReuse: true, benchBreakpoints: 100, benchEvents: true,
  });
  const f = runOpts(['flat.bin', '--format', 'flat', '--load-address', '0x7E00', '--entry', '32256']);
  assert.deepEqual([f.loadAddress, f.entry], [0x7e00, 32256]);
});

test('help and version', () => {
  assert.deepEqual(parseRunArgs(['--help']), { kind: 'help' });
  assert.deepEqual(parseRunArgs(['run', 'x.img', '-h']), { kind: 'help' });
  assert.deepEqual(parseRunArgs(['--version']), { kind: 'version' });
  assert.match(usageText(), /^Usage: ringside run <guest> \[options\]/);
  for (const opt of ['--mode', '--memory-virt', '--ram', '--format', '--load-address', '--entry', '--cmdline', '--module', '--stats', '--max-instructions', '--realtime', '--vga', '--debugcon', '--save-disk'])
    assert.ok(usageText().includes(opt), `help mentions ${opt}`);
});

test('--ram out of range, or not a number', () => {
  assert.equal(usageError(['run', 'k', '--ram', '0']), '--ram 0 is out of range: use 1..3072 (MiB)');
  assert.equal(usageError(['run', 'k', '--ram', '3073']), '--ram 3073 is out of range: use 1..3072 (MiB)');
  assert.equal(usageError(['run', 'k', '--ram', '64M']), "--ram expects a whole number of MiB, got '64M'");
  assert.equal(runOpts(['k', '--ram', '1']).ramMiB, 1);
  assert.equal(runOpts(['k', '--ram', '3072']).ramMiB, 3072);
});

test('unknown options, with a suggestion when one is close', () => {
  assert.equal(usageError(['run', 'k', '--frobnicate']), "unknown option '--frobnicate' (see ringside --help)");
  assert.equal(usageError(['run', 'k', '--stat']), "unknown option '--stat'; did you mean --stats?");
  assert.equal(usageError(['run', 'k', '--memory=64']), "unknown option '--memory'; did you mean --ram?");
  assert.equal(usageError(['run', 'k', '--formta', 'elf']), "unknown option '--formta'; did you mean --format?");
  assert.equal(usageError(['--ram', '4']), "--ram is an option of 'run'; usage: ringside run <guest> [options]");
  assert.equal(usageError(['--bogus']), "unknown option '--bogus' (see ringside --help)");
});

test('missing values and missing guest', () => {
  assert.equal(usageError(['run', 'k', '--ram']), '--ram needs a value (MiB, 1..3072)');
  assert.equal(usageError(['run', 'k', '--format', '--stats']), '--format needs a value (auto|boot|floppy|disk|flat|multiboot|elf)');
  assert.equal(usageError(['run', 'k', '--debugcon']), '--debugcon needs a value (a file name)');
  assert.equal(usageError(['run', '--stats']), 'missing the guest file; usage: ringside run <guest> [options]');
  assert.equal(usageError([]), 'no command given; usage: ringside run <guest> [options] (see ringside --help)');
  assert.equal(usageError(['boot', 'k']), "unknown command 'boot'; the command is 'run' (usage: ringside run <guest> [options])");
  assert.equal(usageError(['run', 'a.img', 'b.img']), "unexpected argument 'b.img': give one guest file (it is already 'a.img')");
  assert.equal(usageError(['run', 'k', '--stats=yes']), '--stats takes no value');
  assert.equal(usageError(['run', 'k', '--module', ',x']), '--module needs a file name (FILE[,cmdline])');
});

test('bad values: format, mode, memory virtualization, numbers', () => {
  assert.equal(usageError(['run', 'k', '--format', 'pe']), "--format 'pe' is not valid; use one of auto, boot, floppy, disk, flat, multiboot, elf");
  assert.equal(usageError(['run', 'k', '--mode', 'kvm']), "--mode 'kvm' is not valid; use one of none, vtx, trap-and-emulate, binary-translation, paravirt");
  assert.equal(usageError(['run', 'k', '--memory-virt', 'npt']), "--memory-virt 'npt' is not valid; use one of ept, shadow");
  assert.equal(usageError(['run', 'k', '--entry', '0x']), "--entry expects an address in decimal or 0x hex, got '0x'");
  assert.equal(usageError(['run', 'k', '--load-address', '0x100000000']), '--load-address 0x100000000 is beyond 4 GiB (32-bit addresses only)');
  assert.equal(usageError(['run', 'k', '--max-instructions', '0']), "--max-instructions expects a positive whole number, got '0'");
  assert.equal(runOpts(['k', '--max-instructions', '1_000_000']).maxInstructions, 1_000_000);
});

test('every mode runs; memory virtualization follows the mode', () => {
  assert.deepEqual(ACCEPTED_MODES, ['none', 'vtx', 'trap-and-emulate', 'binary-translation', 'paravirt']);
  assert.equal(runOpts(['k', '--mode', 'vtx']).memoryVirt, 'ept');
  assert.equal(runOpts(['k', '--mode', 'trap-and-emulate']).memoryVirt, 'shadow');
  assert.equal(runOpts(['k', '--mode', 'binary-translation']).memoryVirt, 'shadow');
  assert.equal(runOpts(['k', '--mode', 'paravirt']).memoryVirt, 'shadow');
  assert.equal(usageError(['run', 'k', '--mode', 'paravirt', '--memory-virt', 'ept']), '--memory-virt ept needs --mode vtx; paravirt uses shadow page tables');
});

test('--vmcs settings are checked and need a hypervisor', () => {
  assert.deepEqual(runOpts(['k', '--mode', 'vtx', '--vmcs', 'hlt_exiting=0', '--vmcs=io_passthrough=0x80,0x3f8-0x3ff,rdtsc_exiting=1']).vmcs,
    [['hlt_exiting', '0'], ['io_passthrough', '0x80,0x3f8-0x3ff'], ['rdtsc_exiting', '1']]);
  assert.match(usageError(['run', 'k', '--mode', 'vtx', '--vmcs', 'hlt=1']), /^--vmcs: unknown vmcs setting 'hlt'; known: external_interrupt_exiting, /);
  assert.equal(usageError(['run', 'k', '--mode', 'vtx', '--vmcs', 'hlt_exiting=maybe']), "--vmcs: vmcs setting 'hlt_exiting' is a flag: true or false (got \"maybe\")");
  assert.equal(usageError(['run', 'k', '--vmcs', 'hlt_exiting=0']), '--vmcs needs --mode vtx (plain emulation has no VMCS)');
  assert.equal(usageError(['run', 'k', '--mode', 'trap-and-emulate', '--vmcs', 'hlt_exiting=0']), '--vmcs needs --mode vtx (trap-and-emulate has no VMCS)');
});

test('memory virtualization defaults follow the mode once more modes are accepted', () => {
  // parseRunOptions reads ACCEPTED_MODES; widen it for this check by going through a copy.
  const accepted = ACCEPTED_MODES as unknown as string[];
  const saved = [...accepted];
  accepted.push('vtx', 'trap-and-emulate');
  try {
    assert.equal(parseRunOptions(['k', '--mode', 'vtx']).memoryVirt, 'ept');
    assert.equal(parseRunOptions(['k', '--mode', 'vtx', '--memory-virt', 'shadow']).memoryVirt, 'shadow');
    assert.equal(parseRunOptions(['k', '--mode', 'trap-and-emulate']).memoryVirt, 'shadow');
    assert.throws(() => parseRunOptions(['k', '--mode', 'trap-and-emulate', '--memory-virt', 'ept']), /--memory-virt ept needs --mode vtx; trap-and-emulate uses shadow page tables/);
  } finally {
    accepted.length = 0;
    accepted.push(...saved);
  }
});
