// Trap-and-emulate: the guest kernel runs deprivileged at ring 1 on shadow descriptor tables and
// shadow page tables; its privileged instructions fault (#GP) into the monitor, which emulates them.
// The samples and the CPU benchmark workloads print what they print under plain emulation; where a
// guest's output differs, a recorded virtualization hole comes before the first difference; what the
// monitor does not support stops the guest with a message that says so. Local descriptor tables,
// PAE paging, hardware task switches and virtual-8086 mode are the monitor's too (shadow LDT, PAE
// shadow tables, emulated task switches, v86 tasks at ring 3 whose events the monitor delivers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleFile, explained, haveNasm, repoRoot, runGuest, samplesAndWorkloads } from './harness';
import { EXIT } from '../../adapter/hypervisor/exits';
import { loadGuest } from '../../adapter/machine/loaders/image';
import { Machine, MiB, GUEST_RAM_BASE } from '../../adapter/machine/pc';
import { createHypervisor } from '../../adapter/hypervisor/modes';
import type { Monitor } from '../../adapter/hypervisor/monitor';
import { LDT_LIN, GDT_LIN, TSS_LIN } from '../../adapter/hypervisor/shadowdesc';
import { ROLE_PAE, ROLE_TOP } from '../../adapter/hypervisor/shadow';
import { CR4_PAE } from '../../adapter/cpu/cpu';
import type { CpuEvent } from '../../adapter/cpu/bus';

const nasm = haveNasm();
const guestsDir = join(repoRoot, 'test/guests') + '/';

test('samples and benchmark workloads: the same output under trap-and-emulate', { skip: !nasm && 'nasm not installed' }, () => {
  for (const [src, format, inc] of samplesAndWorkloads()) {
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
  // The lessons: interrupt flag and selector holes, ring compression.
  assert.equal(seen['shadows.asm'], 'hole', 'POPF/IRET cannot set IF at ring 1: the pending IRQ is not taken');
  assert.equal(seen['priv-gp.asm'], 'hole', 'the guest\'s own ring 1 is compressed into its ring 0');
  // Task switches, v86 mode and PAE paging are emulated: the same bytes as on bare hardware.
  for (const g of ['task-switch.asm', 'v86.asm', 'pf-pae.asm', 'pf-32.asm', 'pf-pse.asm', 'runtime.asm', 'single-step.asm', 'debug-regs.asm'])
    assert.equal(seen[g], 'same', g);
  assert.deepEqual(Object.keys(seen).filter((g) => seen[g] === 'unsupported'), [], 'no guest test is refused');
});

/** Run a multiboot guest from test/guests (or test/hypervisor/guests) under a mode, in slices, checking the shadow after each. */
function runChecked(src: string, mode: 'none' | 'trap-and-emulate' | 'binary-translation', onEvent?: (m: Machine, e: CpuEvent) => void) {
  const image = assembleFile(join(repoRoot, src), guestsDir);
  const ramBytes = 64 * MiB;
  const machine = new Machine({ ramBytes });
  machine.load(loadGuest({ program: image, format: 'multiboot', ramBytes, modules: [] }));
  const monitor = createHypervisor(machine, { mode }) as Monitor | undefined;
  let output = '';
  machine.uart.onTransmit = (b) => { output += String.fromCharCode(b); };
  if (onEvent) machine.cpu.hooks.event = (_c, e) => onEvent(machine, e);
  const issues = new Set<string>();
  let checks = 0;
  while (!machine.exit && machine.cpu.icount < 20_000_000) {
    const stop = machine.cpu.run(20_000);
    if (monitor) { checks++; for (const i of monitor.consistency().issues) issues.add(i); }
    if (stop === 'shutdown' || stop === 'halt') break;
  }
  return { output, machine, monitor, issues: [...issues], checks };
}

test('local descriptor tables: LLDT loads a shadow LDT the processor uses, DPL 0 compressed to 1; LAR/LSL/VERR/VERW see it (holes)', { skip: !nasm && 'nasm not installed' }, () => {
  const base = runChecked('test/hypervisor/guests/ldt.asm', 'none');
  const te = runChecked('test/hypervisor/guests/ldt.asm', 'trap-and-emulate');
  const m = te.monitor!;
  assert.equal(m.fatal, undefined);
  assert.match(base.output, /SLDT after LLDT 40h: 0040\n/);
  assert.match(base.output, /after the LDT write, \[ES:0\]=33333333\n/, 'a write to the LDT reaches the next segment load');
  const b = base.output.split('\n'), t = te.output.split('\n');
  assert.equal(t.length, b.length);
  const differ = b.filter((line, k) => line !== t[k]);
  // Only the LAR of the LDT's DPL-0 descriptors differs: the shadow's DPL 1 shows (bits 13-14).
  assert.deepEqual(differ.map((l) => l.slice(0, 8)), ['sel 0004', 'sel 000C', 'sel 002C']);
  for (const line of differ) {
    const k = b.indexOf(line);
    assert.equal(t[k].replace(/LAR ([0-9A-F]{8})/, (_x, v: string) => `LAR ${(parseInt(v, 16) & ~0x2000).toString(16).toUpperCase().padStart(8, '0')}`), line, 'DPL 1 for DPL 0, the rest as on hardware');
  }
  const lar = m.holes.events.filter((h) => h.instruction.startsWith('lar'));
  assert.equal(lar.length, 3, 'one LAR hole for each DPL-0 LDT descriptor');
  assert.ok(lar.every((h) => /DPL 1\) from the shadow descriptor/.test(h.saw) && /DPL 0\) from the guest's descriptor/.test(h.bare)));
  assert.ok(!m.holes.events.some((h) => /^(lsl|verr|verw)/.test(h.instruction)), 'LSL, VERR and VERW agree with bare hardware here');
  assert.ok((m.emulated.get('lldt') ?? 0) >= 5, 'every LLDT trapped and was emulated (the faulting ones too)');
  assert.deepEqual(te.issues, [], 'the shadow page tables stayed consistent');
  // The guest ended with LLDT 0: the processor's LDTR is unusable again, the shadow LDT kept its pages in the window.
  assert.equal(m.cpu.ldtrSel, 0);
  assert.equal(m.cpu.readSys(LDT_LIN + 8, 4) >>> 0, 0x10000fff, 'the shadow LDT: descriptor 1 (base 0x301000 since the guest wrote it)');
  assert.equal(((m.cpu.readSys(LDT_LIN + 12, 4) >>> 13) & 3), 1, '... with DPL 1');
});

test('PAE paging: the shadow tables in PAE format, the monitor\'s window under the fourth PDPTE', { skip: !nasm && 'nasm not installed' }, () => {
  const base = runChecked('test/guests/pf-pae.asm', 'none');
  for (const mode of ['trap-and-emulate', 'binary-translation'] as const) {
    const r = runChecked('test/guests/pf-pae.asm', mode);
    const m = r.monitor!, c = m.cpu;
    assert.equal(r.output, base.output, `${mode}: the same #PF error codes, CR2 values and PDPTE behaviour`);
    assert.deepEqual(r.issues, [], `${mode}: consistent after each of ${r.checks} slices`);
    assert.ok(m.guestView.pae && c.cr4 & CR4_PAE, 'the guest pages with PAE, and so does the processor');
    assert.ok(c.cr3 >>> 0 < GUEST_RAM_BASE, 'CR3 holds the shadow PDPT, in host memory below guest RAM');
    assert.ok(m.shadow.allPages().some((p) => p.role & ROLE_PAE && p.role & ROLE_TOP), 'the top directory carries the window');
    assert.equal(c.readSys(GDT_LIN + 8, 4), m.window.readGdt(1)[0], 'the shadow GDT is reachable through the PAE window');
  }
});

test('hardware task switches: JMP/CALL/INT/IRET and exceptions through task gates, emulated against the guest\'s TSSs', { skip: !nasm && 'nasm not installed' }, () => {
  const base = runChecked('test/guests/task-switch.asm', 'none');
  for (const mode of ['trap-and-emulate', 'binary-translation'] as const) {
    const switches: string[] = [], texts: string[] = [];
    const r = runChecked('test/guests/task-switch.asm', mode, (_m, e) => {
      if (e.kind === 'task-switch') switches.push(`${e.from.toString(16)}>${e.to.toString(16)} ${e.cause}`);
      if (e.kind === 'vmexit' && /task switch emulated|^#GP: (jmp|call) 0x/.test(e.text)) texts.push(e.text);
    });
    const m = r.monitor!;
    assert.equal(r.output, base.output, `${mode}: the same output as on bare hardware`);
    assert.equal(m.fatal, undefined);
    assert.deepEqual(r.issues, []);
    assert.ok(switches.includes('28>40 jmp') && switches.includes('28>48 call') && switches.includes('48>28 iret') && switches.includes('28>50 interrupt 6'), switches.join(', '));
    // How each switch reached the monitor. Under binary translation the kernel's far JMP/CALL are monitor calls (no trap).
    const ways = [/^#NP: int 0x3e through the guest's task gate/, /^#TS: iretd? with NT/, /^exception vector 6 through the guest's task gate/, /^exception vector 13 through the guest's task gate/];
    if (mode === 'trap-and-emulate') ways.push(/^#GP: jmp 0x40:0x0 emulated/, /^#GP: call 0x58:0x0 emulated/);
    else assert.ok((m.emulated.get('jmp') ?? 0) >= 2 && (m.emulated.get('call') ?? 0) >= 2, 'JMP and CALL to a task: monitor calls');
    for (const how of ways) assert.ok(texts.some((t) => how.test(t)), `${how}: ${texts.join(' | ')}`);
    assert.equal(m.cpu.trBase >>> 0, TSS_LIN, 'the processor\'s TR stays the shadow TSS');
    assert.equal(m.v.trSel, 0x28);
  }
});

test('virtual-8086 mode: v86 tasks at ring 3 with VM=1 and IOPL 0, their IOPL-sensitive instructions and events taken by the monitor', { skip: !nasm && 'nasm not installed' }, () => {
  const base = runChecked('test/guests/v86.asm', 'none');
  for (const mode of ['trap-and-emulate', 'binary-translation'] as const) {
    const entries: string[] = [], out: string[] = [];
    const r = runChecked('test/guests/v86.asm', mode, (mc, e) => {
      const c = mc.cpu;
      if (e.kind === 'mode' && e.what === 'v86-enter') entries.push(`cpl${c.cpl} vm${c.isV86() ? 1 : 0} iopl${(c.getEflags() >>> 12) & 3} if${(c.getEflags() >>> 9) & 1}`);
      if (e.kind === 'vmexit' && /out of virtual-8086 mode/.test(e.text)) out.push(e.text);
    });
    const m = r.monitor!;
    assert.equal(r.output, base.output, `${mode}: the same output as on bare hardware`);
    assert.deepEqual(r.issues, []);
    assert.ok(entries.length >= 20 && entries.every((e) => e === 'cpl3 vm1 iopl0 if1'), `the processor runs v86 code at ring 3, VM 1, IOPL 0, IF 1: ${[...new Set(entries)].join(', ')}`);
    assert.ok(out.some((t) => /^vector 13 /.test(t)) && out.some((t) => /^vector 48 /.test(t)), 'the guest\'s #GP and INT 30h went to its ring-0 handler through the monitor');
    for (const mn of ['cli', 'sti', 'pushf', 'popf', 'iret', 'int', 'in']) assert.ok((m.emulated.get(mn) ?? 0) >= 1, `${mn} in v86 mode trapped and was performed`);
    assert.ok(!m.holes.events.some((h) => /virtual-8086/.test(h.bare)), 'every IRET to VM=1 trapped (its CS had RPL 0)');
  }
});

test('a task switch into a virtual-8086 task, and out of it through an IDT task gate', { skip: !nasm && 'nasm not installed' }, () => {
  const base = runChecked('test/hypervisor/guests/v86-task.asm', 'none');
  assert.match(base.output, /v86 task saved: EIP=0000000E EFLAGS=00023002 EAX=00001234\n/, 'VM and IOPL 3 kept, IF as the task\'s CLI left it');
  for (const mode of ['trap-and-emulate', 'binary-translation'] as const) {
    const modes: string[] = [], exits: string[] = [];
    const r = runChecked('test/hypervisor/guests/v86-task.asm', mode, (_m, e) => {
      if (e.kind === 'task-switch') modes.push(e.cause);
      if (e.kind === 'vmexit') exits.push(e.text);
    });
    assert.equal(r.output, base.output, mode);
    assert.deepEqual(modes, ['jmp', 'interrupt 61'], 'into the v86 task by JMP, out by INT 3Dh through the gate');
    assert.ok(exits.some((t) => /^#GP: cli emulated/.test(t)), 'the v86 task\'s CLI (IOPL 3) trapped, and cleared the task\'s own IF');
    assert.ok(exits.some((t) => /^vector 61 out of virtual-8086 mode/.test(t)), 'its INT 3Dh trapped too, and left through the guest\'s task gate');
  }
});

test('what stays refused: virtual-8086 mode with CR4.VME', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/vme.asm'), guestsDir);
  const base = runGuest(image, 'multiboot', 'none');
  assert.equal(base.output, 'vme: CR4.VME on, then into v86 mode\nback from v86: #BP at +1\n');
  for (const mode of ['trap-and-emulate', 'binary-translation'] as const) {
    const r = runGuest(image, 'multiboot', mode);
    assert.equal(r.exitStatus, 73);
    assert.match(r.monitor!.fatal!, /virtual-8086 mode is not supported with CR4.VME/);
    assert.equal(explained('vme', base, r), 'unsupported');
  }
});

test('ringside run --mode trap-and-emulate --stats', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/kernel.asm'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'adapter/cli.ts'), 'run', image, '--mode', 'trap-and-emulate', '--stats'], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /monitor traps: +\d+ \(trap-and-emulate\)/);
  assert.match(r.stderr, /virtualization holes: \d+/);
  const vme = assembleFile(join(repoRoot, 'test/hypervisor/guests/vme.asm'), guestsDir);
  const p = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'adapter/cli.ts'), 'run', vme, '--format', 'multiboot', '--mode', 'trap-and-emulate'], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(p.status, 73);
  assert.match(p.stderr, /ringside: trap-and-emulate: virtual-8086 mode is not supported with CR4.VME or CR4.PVI set/);
});
