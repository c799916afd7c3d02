// Binary translation: the guest kernel runs at ring 1 as under trap-and-emulate, but its code goes
// through the translator, which rewrites every sensitive and privileged instruction into a monitor
// call. The holes close: a guest that goes wrong under trap-and-emulate runs correctly here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleFile, explained, haveNasm, repoRoot, runGuest, samplesAndWorkloads } from './harness';

const nasm = haveNasm();

test('samples and benchmark workloads: the same output under binary translation', { skip: !nasm && 'nasm not installed' }, () => {
  for (const [src, format, inc] of samplesAndWorkloads()) {
    const image = assembleFile(src, inc);
    const base = runGuest(image, format, 'none');
    const bt = runGuest(image, format, 'binary-translation');
    assert.equal(bt.output, base.output, `${src}: same output`);
    assert.equal(bt.icount, base.icount, `${src}: same retired instructions`);
    assert.deepEqual(bt.monitor!.consistency().issues, []);
    if (format !== 'boot') assert.ok(bt.monitor!.translations!.translations > 0, `${src}: kernel blocks were translated`);
  }
});

test('a guest that trap-and-emulate gets wrong (POPF cannot restore IF) runs correctly under binary translation', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/irqsave.asm'));
  const base = runGuest(image, 'flat', 'none');
  assert.match(base.output, /irqsave: 3 ticks, interrupts came back after every POPFD\n$/);
  const te = runGuest(image, 'flat', 'trap-and-emulate');
  assert.notEqual(te.output, base.output, 'under trap-and-emulate the first HLT waits with interrupts off, forever');
  assert.equal(te.stop, 'halt');
  assert.ok(te.monitor!.holes.events.some((h) => h.instruction.startsWith('popf') && h.bare === 'IF=1'), 'the POPF hole is recorded');
  assert.equal(explained('irqsave', base, te), 'hole');
  const bt = runGuest(image, 'flat', 'binary-translation');
  assert.equal(bt.output, base.output);
  assert.equal(bt.icount, base.icount);
  assert.ok(!bt.monitor!.holes.events.some((h) => h.instruction.startsWith('popf')), 'no POPF hole: it was rewritten');
  const popf = bt.monitor!.translations!.list().flatMap((b) => b.instructions).find((i) => i.text.startsWith('popf'));
  assert.equal(popf?.rewritten, 'pop into the guest\'s flags (virtual IF)');
});

test('the sensitive instructions show what ring 0 would see', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/holes.asm'));
  const bt = runGuest(image, 'flat', 'binary-translation');
  assert.equal(bt.output, runGuest(image, 'flat', 'none').output);
  assert.deepEqual(bt.monitor!.holes.events.filter((h) => !h.instruction.startsWith('(')), [], 'no instruction hole');
});

test('the translation cache: kernel blocks with their rewritten instructions, dropped when the guest writes its code', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/smc.asm'));
  const bt = runGuest(image, 'flat', 'binary-translation');
  assert.equal(bt.output, 'AB\n');
  const tc = bt.monitor!.translations!;
  assert.ok(tc.invalidations >= 1, 'the block of `say` was dropped after its bytes changed');
  const blocks = tc.list();
  const say = blocks.find((b) => b.instructions.some((i) => i.text === "mov al, 0x42"));
  assert.ok(say, 'and translated again with the new immediate');
  const out = say!.instructions.find((i) => i.text.startsWith('out'))!;
  assert.equal(out.rewritten, 'port I/O by the monitor');
  assert.ok(say!.instructions.filter((i) => !i.rewritten).every((i) => /^(mov|ret|call)/.test(i.text)), 'innocuous instructions are kept');
  // The kernel sample: its port accesses, CR writes and descriptor-table loads are rewritten, not trapped.
  const kernel = runGuest(assembleFile(join(repoRoot, 'samples/kernel.asm')), 'multiboot', 'binary-translation').monitor!;
  const rewritten = new Set(kernel.translations!.list().flatMap((b) => b.instructions.filter((i) => i.rewritten).map((i) => i.text.split(' ')[0])));
  for (const mn of ['out', 'in', 'lgdt', 'lidt', 'ltr', 'hlt', 'sti', 'cli', 'iret', 'wrmsr', 'sysexit', 'invlpg']) assert.ok(rewritten.has(mn), `${mn} rewritten`);
  assert.ok(kernel.counters.emulatedPrivileged > 2000);
  // What still traps: the shadow's #PF, and #GP only where no rewriting helps (MOV SS of a ring-0 selector, SYSENTER from ring 3).
  const gp = kernel.stats.recent().filter((t) => t.reason === 0 && (t.interruptionInfo & 0xff) === 13);
  assert.ok(kernel.stats.total < 256 && gp.length <= 3, `few #GP traps: ${gp.map((t) => t.text).join(', ')}`);
  assert.ok(gp.every((t) => /#GP: (mov ss|sysenter)/.test(t.text)), gp.map((t) => t.text).join(', '));
});

test('guest tests under binary translation: the same output, or a difference explained', { skip: !nasm && 'nasm not installed' }, () => {
  const dir = join(repoRoot, 'test/guests');
  const seen: Record<string, string> = {};
  for (const g of readdirSync(dir).filter((f) => f.endsWith('.asm')).sort()) {
    const image = assembleFile(join(dir, g), dir + '/');
    if (!readFileSync(image).subarray(0, 0x2000).includes(Buffer.from([0x02, 0xb0, 0xad, 0x1b]))) continue;
    seen[g] = explained(g, runGuest(image, 'multiboot', 'none'), runGuest(image, 'multiboot', 'binary-translation', { maxInstructions: 20_000_000 }));
  }
  assert.equal(seen['shadows.asm'], 'same', 'the interrupt-shadow guest that trap-and-emulate gets wrong');
  assert.equal(seen['msr-sysenter.asm'], 'same');
  assert.equal(seen['exceptions.asm'], 'same');
  // Task switches, v86 mode and PAE paging: emulated by the monitor, identical to bare hardware.
  for (const g of ['task-switch.asm', 'v86.asm', 'pf-pae.asm']) assert.equal(seen[g], 'same', g);
  assert.deepEqual(Object.keys(seen).filter((g) => seen[g] === 'unsupported'), [], 'no guest test is refused');
});

test('local descriptor tables under binary translation: LAR/LSL/VERR/VERW rewritten, so LDT selectors show the guest\'s descriptors', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/ldt.asm'), join(repoRoot, 'test/guests') + '/');
  const base = runGuest(image, 'multiboot', 'none');
  const bt = runGuest(image, 'multiboot', 'binary-translation');
  assert.match(base.output, /sel 000C: LAR 00409300 LSL 00000FFF VERR 1 VERW 1\n/);
  assert.equal(bt.output, base.output);
  assert.deepEqual(bt.monitor!.holes.events.filter((h) => !h.instruction.startsWith('(')), [], 'no instruction hole');
  const lar = bt.monitor!.translations!.list().flatMap((b) => b.instructions).find((i) => i.text.startsWith('lar'));
  assert.equal(lar?.rewritten, 'check against the guest\'s descriptor');
  assert.deepEqual(bt.monitor!.consistency().issues, []);
});

test('exception and interrupt frames from the guest kernel: CS RPL 0 and the guest\'s IF, as on bare hardware', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/frames.asm'));
  const base = runGuest(image, 'flat', 'none');
  assert.equal(base.output, [
    'int3 cs=0008 if=0', 'if now 0',
    '#GP cs=0008 if=1 err=1230', 'if now 1',
    '#PF cs=0008 if=0 err=0000', 'if now 0',
    'timer cs=0008 if=1', 'if now 1', '',
  ].join('\n'));
  for (const mode of ['ept', 'shadow', 'binary-translation'] as const) {
    const r = runGuest(image, 'flat', mode);
    assert.equal(r.output, base.output, `${mode}: the frames bare hardware pushes`);
    assert.equal(r.icount, base.icount, `${mode}: same retired instructions`);
  }
  const bt = runGuest(image, 'flat', 'binary-translation');
  assert.deepEqual(bt.monitor!.holes.events.filter((h) => h.instruction.startsWith('frame')), [], 'binary translation rewrote every kernel frame');
  // Trap-and-emulate: the processor pushes the frame through the shadow IDT, RPL 1 and its own IF; each is a recorded hole.
  const te = runGuest(image, 'flat', 'trap-and-emulate');
  assert.match(te.output, /^int3 cs=0009 if=1\n/);
  assert.equal(explained('frames', base, te), 'hole');
  const frames = te.monitor!.holes.events.filter((h) => h.instruction.startsWith('frame of vector'));
  assert.deepEqual(frames.map((h) => h.instruction), [3, 13, 14, 32].map((v) => `frame of vector ${v}`));
  assert.deepEqual(frames.map((h) => h.bare), ['CS 0x8 (RPL 0), IF=0', 'CS 0x8 (RPL 0), IF=1', 'CS 0x8 (RPL 0), IF=0', 'CS 0x8 (RPL 0), IF=1']);
  assert.ok(frames.every((h) => h.saw === 'CS 0x9 (RPL 1), IF=1'));
});
