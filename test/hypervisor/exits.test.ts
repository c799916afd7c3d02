// The exits the samples trigger, counted against what the guest really executes: the same guest is
// first run under plain emulation with every relevant instruction class counted, then under vtx with
// each memory virtualization, and the exit counts by reason must follow from the controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { assembleFile, haveNasm, repoRoot, runGuest } from './harness';
import { loadGuest } from '../../adapter/machine/loaders/image';
import { Machine, MiB } from '../../adapter/machine/pc';
import { Cls } from '../../adapter/cpu/opcodes';
import { EXIT, CR_MOV_TO } from '../../adapter/hypervisor/exits';
import type { Vm } from '../../adapter/hypervisor/vm';

const nasm = haveNasm();

/** Executed instructions of the classes that exit, counted under plain emulation. */
function groundTruth(image: string) {
  const m = new Machine({ ramBytes: 64 * MiB });
  m.load(loadGuest({ program: image, format: 'multiboot', ramBytes: 64 * MiB, modules: [] }));
  const n = { cpuid: 0, hlt: 0, io: 0, io80: 0, invlpg: 0, movCr3: 0, movFromCr3: 0, msr: 0, pf: 0, interrupts: 0 };
  m.cpu.hooks = {
    beforeInsn: (c, i) => {
      const h = i.entry.handler;
      if (h === 'cpuid') n.cpuid++;
      else if (h === 'hlt') n.hlt++;
      else if (h === 'invlpg') n.invlpg++;
      else if (h === 'rdmsr' || h === 'wrmsr') n.msr++;
      else if (h === 'movcr' && i.reg === 3) { if (i.entry.sub === 1) n.movCr3++; else n.movFromCr3++; }
      else if (h === 'in' || h === 'out' || h === 'ins' || h === 'outs') {
        const port = i.entry.operands.includes('Ib') ? i.imm & 0xff : c.r16[4];
        if (port === 0x80) n.io80++; else n.io++;
      }
      return false;
    },
    event: (_c, e) => { if (e.kind === 'interrupt' && e.source === 'external') n.interrupts++; if (e.kind === 'interrupt' && e.vector === 14) n.pf++; },
  };
  m.cpu.setIntercepts(Cls.Cpuid | Cls.Hlt | Cls.Invlpg | Cls.MsrRead | Cls.MsrWrite | Cls.CrWrite | Cls.CrRead | Cls.Io);
  m.uart.onTransmit = () => {};
  while (!m.exit && m.cpu.icount < 50_000_000) if (m.cpu.run(1_000_000) === 'shutdown') break;
  assert.ok(m.exit, 'the sample ran to its end');
  return n;
}

const count = (vm: Vm, reason: number) => vm.stats.counts[reason];

test('kernel sample: exits by reason follow from what it executes and from the controls', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/kernel.asm'));
  const n = groundTruth(image);
  assert.ok(n.cpuid >= 1 && n.hlt >= 5 && n.io > 100 && n.invlpg >= 2 && n.movCr3 >= 1 && n.pf >= 1 && n.interrupts >= 5, JSON.stringify(n));

  // A trace long enough to keep every exit of the run (the default ring keeps the last 256).
  const ept = runGuest(image, 'multiboot', 'ept', { vmcs: { trace: 100000 } }).vm!;
  assert.equal(count(ept, EXIT.CPUID), n.cpuid, 'CPUID always exits');
  assert.equal(count(ept, EXIT.HLT), n.hlt, 'HLT exiting');
  assert.equal(count(ept, EXIT.IO_INSTRUCTION), n.io, 'every port exits but 0x80 (the I/O bitmaps)');
  assert.equal(count(ept, EXIT.INVLPG), 0, 'with EPT, INVLPG runs in the guest');
  assert.equal(count(ept, EXIT.MSR_READ) + count(ept, EXIT.MSR_WRITE), 0, 'the sample only touches the SYSENTER MSRs, which the MSR bitmap passes through');
  assert.ok(count(ept, EXIT.EPT_VIOLATION) >= 1, 'EPT is built on violations');
  assert.equal(count(ept, EXIT.EXCEPTION_NMI), 0, 'its #PF does not exit under EPT');
  const eptCr = ept.stats.recent().filter((r) => r.reason === EXIT.CR_ACCESS);
  assert.ok(eptCr.length >= 1 && eptCr.every((r) => (r.qualification & 0xf) !== 3), 'CR accesses exit for host-owned CR0/CR4 bits, never for CR3');
  assert.equal(ept.counters.injectedInterrupts, n.interrupts, 'each timer interrupt is injected');
  // The timer fires while the guest waits in HLT: the vCPU is not running, so no external-interrupt exit.
  assert.equal(count(ept, EXIT.EXTERNAL_INTERRUPT), 0);
  assert.equal(ept.stats.total, ept.stats.byReason().reduce((s, r) => s + r.count, 0));

  const sh = runGuest(image, 'multiboot', 'shadow', { vmcs: { trace: 100000 } }).vm!;
  assert.equal(sh.stats.recent().length, sh.stats.total);
  assert.equal(count(sh, EXIT.INVLPG), n.invlpg, 'with shadow paging, INVLPG exits');
  const shCr = sh.stats.recent().filter((r) => r.reason === EXIT.CR_ACCESS);
  const cr3Loads = shCr.filter((r) => (r.qualification & 0xf) === 3 && ((r.qualification >>> 4) & 3) === CR_MOV_TO).length;
  assert.equal(cr3Loads, n.movCr3, 'every MOV to CR3 exits (CR3-load exiting)');
  const pf = sh.stats.recent().filter((r) => r.reason === EXIT.EXCEPTION_NMI && (r.interruptionInfo & 0xff) === 14);
  assert.ok(pf.length > n.pf, 'shadow faults exit (most of them never reach the guest)');
  assert.equal(sh.stats.injected, n.pf, 'exactly the guest\'s own page faults are reflected');
  assert.equal(sh.shadow!.counters.reflected, n.pf);
  assert.deepEqual(sh.consistency()!.issues, []);
  // The qualification of an I/O exit names the port, the direction and the size (SDM encoding).
  const out = ept.stats.recent().filter((r) => r.reason === EXIT.IO_INSTRUCTION).pop()!;
  assert.equal(out.qualification >>> 16, 0xf4, 'the last I/O exit is the write to the exit port');
  assert.equal(out.qualification & 0x8, 0, 'direction: out');
  assert.equal(out.instructionLength, 2);
});

test('kernel sample: the controls change the exits (HLT exiting off, eager EPT, VPID off, COM1 passed through)', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/kernel.asm'));
  const base = runGuest(image, 'multiboot', 'ept');
  const noHlt = runGuest(image, 'multiboot', 'ept', { vmcs: { hlt_exiting: false } });
  assert.equal(noHlt.output, base.output);
  assert.equal(noHlt.vm!.stats.counts[EXIT.HLT], 0);
  const eager = runGuest(image, 'multiboot', 'ept', { vmcs: { ept_eager: true } });
  assert.equal(eager.vm!.stats.counts[EXIT.EPT_VIOLATION], 0, 'all RAM mapped up front');
  assert.equal(eager.output, base.output);
  const noVpid = runGuest(image, 'multiboot', 'ept', { vmcs: { vpid: false } });
  assert.equal(noVpid.vm!.counters.vpidFlushes, noVpid.vm!.stats.total, 'without VPID every exit flushes the TLB');
  assert.ok(noVpid.machine.cpu.tlb.fills > base.machine.cpu.tlb.fills, 'and the TLB refills afterwards');
  assert.equal(noVpid.output, base.output);
  const io = runGuest(image, 'multiboot', 'ept', { vmcs: { io_passthrough: '0x3f8-0x3ff' } });
  assert.ok(io.vm!.stats.counts[EXIT.IO_INSTRUCTION] < base.vm!.stats.counts[EXIT.IO_INSTRUCTION] / 10, 'COM1 passed through: its accesses no longer exit');
  assert.equal(io.output, base.output);
});

test('ringside run --stats prints exits by reason', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/kernel.asm'));
  for (const mem of ['ept', 'shadow']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'adapter/cli.ts'), 'run', image, '--mode', 'vtx', '--memory-virt', mem, '--stats'], { encoding: 'utf8', cwd: repoRoot });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`VM exits: +\\d+ \\(vtx\\+${mem}\\)`));
    assert.match(r.stderr, /30 IO_INSTRUCTION +\d+ +[\d.]+%/);
    assert.match(r.stderr, /12 HLT +5 /);
    if (mem === 'shadow') assert.match(r.stderr, /14 INVLPG +\d+/);
    else assert.match(r.stderr, /48 EPT_VIOLATION +\d+/);
  }
});

test('every exit reason a guest can trigger: instructions, a reflected #UD, interrupts while running and the interrupt window', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/exit-reasons.asm'), join(repoRoot, 'test/guests') + '/');
  const none = runGuest(image, 'multiboot', 'none');
  for (const mode of ['ept', 'shadow'] as const) {
    const marks: [string, number][] = [];
    const r = runGuest(image, 'multiboot', mode, {
      vmcs: { rdtsc_exiting: true, descriptor_table_exiting: true, trace: 100000 },
      onDebugByte: (b, vm) => marks.push([String.fromCharCode(b), vm!.stats.total]),
    });
    assert.equal(r.output, none.output, `${mode}: same output as plain emulation`);
    const all = r.vm!.stats.recent();
    // The exits between a mark and the next one, without the port I/O (marks, serial output, PIT/PIC).
    const seg = (m: string) => {
      const k = marks.findIndex((x) => x[0] === m);
      const from = marks[k][1], to = marks[k + 1][1];
      return all.filter((x) => x.seq > from && x.seq < to && x.reason !== EXIT.IO_INSTRUCTION);
    };
    const reasons = (m: string) => seg(m).map((x) => x.reason);
    assert.deepEqual(reasons('c'), [EXIT.CPUID]);
    assert.deepEqual(reasons('t'), [EXIT.RDTSC], 'RDTSC exiting on');
    assert.deepEqual(reasons('m'), [EXIT.MSR_READ, EXIT.MSR_WRITE], 'IA32_PAT is not in the pass-through list');
    const dr = seg('d');
    assert.deepEqual(dr.map((x) => x.qualification), [0x17, 0x07], 'MOV from DR7 then MOV to DR7, both with EAX');
    const dt = seg('g');
    assert.deepEqual(dt.map((x) => x.reason), [EXIT.GDTR_IDTR, EXIT.GDTR_IDTR, EXIT.LDTR_TR, EXIT.LDTR_TR]);
    assert.deepEqual(dt.map((x) => (x.instructionInfo >>> 28) & 3), [0, 2, 0, 1], 'instruction identity: SGDT, LGDT, SLDT, STR');
    assert.deepEqual(reasons('w'), [EXIT.WBINVD, EXIT.INVD]);
    assert.deepEqual(reasons('p'), [EXIT.PAUSE_INSTRUCTION, EXIT.PAUSE_INSTRUCTION], 'a 10000-instruction PAUSE loop crosses the 4096 window twice');
    const ud = seg('u');
    assert.deepEqual(ud.map((x) => [x.reason, x.interruptionInfo]), [[EXIT.EXCEPTION_NMI, 0x80000306]], '#UD: vector 6, hardware exception, valid');
    assert.ok(reasons('e').includes(EXIT.EXTERNAL_INTERRUPT), 'an IRQ while the guest runs exits');
    assert.ok(!reasons('e').includes(EXIT.INTERRUPT_WINDOW), 'IF was set: injected at once');
    assert.deepEqual(reasons('i'), [EXIT.EXTERNAL_INTERRUPT, EXIT.INTERRUPT_WINDOW], 'pending with IF = 0: the window exit comes at STI');
    assert.equal(r.vm!.counters.pleExits, 2);
  }
  const plain = runGuest(image, 'multiboot', 'ept', { vmcs: { trace: 100000 } }).vm!;
  assert.equal(plain.stats.counts[EXIT.RDTSC], 0, 'RDTSC does not exit by default');
  assert.equal(plain.stats.counts[EXIT.GDTR_IDTR] + plain.stats.counts[EXIT.LDTR_TR], 0, 'nor the descriptor-table instructions');
});
