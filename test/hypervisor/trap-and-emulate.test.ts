// Trap-and-emulate: the guest kernel runs deprivileged at ring 1 on shadow descriptor tables and
// shadow page tables; its privileged instructions fault (#GP) into the monitor, which emulates them.
// The samples and the CPU benchmark workloads print what they print under plain emulation; where a
// guest's output differs, a recorded virtualization hole comes before the first difference; what the
// monitor does not support stops the guest with a message that says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleFile, explained, haveNasm, repoRoot, runGuest } from './harness';
import { EXIT } from '../../adapter/hypervisor/exits';
import type { FormatChoice } from '../../adapter/machine/loaders/types';

const nasm = haveNasm();

test('samples and benchmark workloads: the same output under trap-and-emulate', { skip: !nasm && 'nasm not installed' }, () => {
  const guests: [string, FormatChoice, string?][] = [
    [join(repoRoot, 'samples/kernel.asm'), 'multiboot'],
    [join(repoRoot, 'samples/hello-boot.asm'), 'boot'],
    [join(repoRoot, 'samples/floppy-pm.asm'), 'floppy'],
    ...['alu', 'memory', 'paging', 'call'].map((w) => [join(repoRoot, 'bench/guests', `${w}.asm`), 'floppy', join(repoRoot, 'bench/guests') + '/'] as [string, FormatChoice, string]),
  ];
  for (const [src, format, inc] of guests) {
    const image = assembleFile(src, inc);
    const base = runGuest(image, format, 'none');
    const te = runGuest(image, format, 'trap-and-emulate');
    assert.equal(te.output, base.output, `${src}: same output`);
    assert.equal(te.icount, base.icount, `${src}: same retired instructions (emulated ones retire once)`);
    assert.equal(te.monitor!.fatal, undefined);
    if (format !== 'boot') assert.ok(te.monitor!.deprivileged, `${src}: the guest ended deprivileged (protected mode)`);
    assert.deepEqual(te.monitor!.consistency().issues, []);
  }
});

test('kernel sample: privileged instructions trap and are emulated; IRET cannot restore IF (recorded)', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/kernel.asm'));
  const r = runGuest(image, 'multiboot', 'trap-and-emulate');
  const m = r.monitor!;
  assert.equal(r.machine.cpu.cpl, 1, 'the guest kernel ends at ring 1');
  assert.equal(m.guestRing(), 0, 'and believes it is at ring 0');
  const traps = m.stats.recent();
  assert.ok(traps.every((t) => t.reason === EXIT.EXCEPTION_NMI || t.reason === EXIT.EXTERNAL_INTERRUPT));
  assert.ok(m.counters.emulatedPrivileged > 2000, 'every port access, CR write, LGDT, LTR, HLT... traps');
  assert.equal(m.counters.injectedInterrupts, 5, 'the five timer ticks are reflected to the guest');
  for (const mn of ['out', 'in', 'mov', 'lgdt', 'lidt', 'ltr', 'hlt', 'sti', 'cli', 'wrmsr', 'rdmsr', 'invlpg', 'sysenter', 'sysexit'])
    assert.ok((m.emulated.get(mn) ?? 0) >= 1, `${mn} was emulated`);
  assert.equal(m.emulated.get('hlt'), 5, 'one HLT per timer tick');
  const iret = m.holes.events.filter((h) => h.instruction.startsWith('iret'));
  assert.ok(iret.length >= 5 && iret.every((h) => /IF stays 0/.test(h.saw) && h.bare === 'IF=1'), 'each handler\'s IRET wanted IF back on');
  assert.match(m.statsLines().join('\n'), /virtualization holes: \d+ \(iret x\d+/);
});

test('each sensitive instruction records a hole: what the guest saw, and what bare hardware would show', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/holes.asm'));
  const base = runGuest(image, 'flat', 'none');
  const te = runGuest(image, 'flat', 'trap-and-emulate');
  assert.equal(base.output, 'f=0\np=1\ng=1\ni=1\nm=0\nc=0\ns=0\nl=0\n', 'bare hardware at ring 0');
  assert.equal(te.output, 'f=1\np=1\ng=0\ni=0\nm=1\nc=1\ns=1\nl=1\n', 'deprivileged at ring 1');
  const h = te.monitor!.holes;
  const by = (mn: string) => h.events.filter((e) => e.instruction.startsWith(mn));
  assert.match(by('pushf')[0].saw, /^IF=1/);
  assert.match(by('pushf')[0].bare, /^IF=0/);
  assert.match(by('popf')[0].saw, /IF stays 0/);
  assert.equal(by('popf')[0].bare, 'IF=1');
  assert.match(by('sgdt')[0].saw, /^base 0xffc00000/);
  assert.match(by('sgdt')[0].bare, /^base 0x9558 /);
  assert.match(by('sidt')[0].saw, /^base 0xffc10000/);
  assert.equal(by('smsw')[0].saw, 'CR0 0x80010011');
  assert.equal(by('smsw')[0].bare, 'CR0 0x11');
  assert.equal(by('push cs')[0].saw, 'selector 0x9 (RPL 1)');
  assert.equal(by('mov ax, ss')[0].bare, 'selector 0x10 (RPL 0)');
  assert.match(by('lar')[0].saw, /DPL 1/);
  assert.equal(explained('holes', base, te), 'hole');
});

test('guest tests: the same output, or every difference explained by a recorded hole or a clear refusal', { skip: !nasm && 'nasm not installed' }, () => {
  const dir = join(repoRoot, 'test/guests');
  const seen: Record<string, string> = {};
  for (const g of readdirSync(dir).filter((f) => f.endsWith('.asm')).sort()) {
    const image = assembleFile(join(dir, g), dir + '/');
    if (!readFileSync(image).subarray(0, 0x2000).includes(Buffer.from([0x02, 0xb0, 0xad, 0x1b]))) continue;
    const base = runGuest(image, 'multiboot', 'none');
    const te = runGuest(image, 'multiboot', 'trap-and-emulate', { maxInstructions: 20_000_000 });
    seen[g] = explained(g, base, te);
  }
  // The lessons: interrupt flag and selector holes, ring compression; and what a 1998 monitor could not do.
  assert.equal(seen['shadows.asm'], 'hole', 'POPF/IRET cannot set IF at ring 1: the pending IRQ is not taken');
  assert.equal(seen['priv-gp.asm'], 'hole', 'the guest\'s own ring 1 is compressed into its ring 0');
  assert.equal(seen['task-switch.asm'], 'unsupported');
  assert.equal(seen['v86.asm'], 'unsupported');
  assert.equal(seen['pf-pae.asm'], 'unsupported');
  assert.equal(seen['pf-32.asm'], 'same');
});

test('ringside run --mode trap-and-emulate --stats', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/kernel.asm'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'adapter/cli.ts'), 'run', image, '--mode', 'trap-and-emulate', '--stats'], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /monitor traps: +\d+ \(trap-and-emulate\)/);
  assert.match(r.stderr, /virtualization holes: \d+/);
  const pae = assembleFile(join(repoRoot, 'test/guests/pf-pae.asm'), join(repoRoot, 'test/guests') + '/');
  const p = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'adapter/cli.ts'), 'run', pae, '--mode', 'trap-and-emulate'], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(p.status, 73);
  assert.match(p.stderr, /ringside: trap-and-emulate: PAE paging is not supported/);
});
