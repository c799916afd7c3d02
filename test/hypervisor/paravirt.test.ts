// Paravirtualization: a kernel that asks the hypervisor for privileged work through the hypercall
// ABI. Every hypercall, the validation of page-table updates, upcalls from the timer, and the memory
// balloon (under paravirt and under vtx with EPT, where given-back pages leave EPT and the host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleFile, haveNasm, repoRoot, runGuest } from './harness';
import { HC, HC_NAMES, E_INVAL, E_NOSYS } from '../../adapter/hypervisor/hypercalls';

const nasm = haveNasm();
const PVKERNEL = () => assembleFile(join(repoRoot, 'samples/pvkernel.asm'));
const BALLOON = () => assembleFile(join(repoRoot, 'test/hypervisor/guests/balloon.asm'));

test('the paravirtual kernel: every hypercall, validated page-table updates, timer upcalls, the balloon', { skip: !nasm && 'nasm not installed' }, () => {
  const r = runGuest(PVKERNEL(), 'flat', 'paravirt');
  assert.equal(r.exitStatus, 1);
  assert.equal(r.output, [
    'pvkernel: a paravirtual kernel, speaking through hypercalls',
    'paging on; the window reads A',
    'mmu_update of the window\'s PTE to frame B: 0',
    'the window now reads B',
    'mmu_update mapping a page table writable: -22',
    'a direct write to a PTE: #PF (the page tables are read-only to the guest)',
    '3 timer upcalls; virtual time advanced 1',
    'balloon: give 16 pages back: 16',
    'balloon: take them again: 16',
    'pvkernel: done', ''].join('\n'));
  const m = r.monitor!, pv = m.pv!;
  assert.deepEqual(pv.calls.list().map((c) => c.name), HC_NAMES, 'each of the eight hypercalls was made');
  assert.equal(pv.calls.calls.get(HC.YIELD)!.count, 3);
  assert.equal(pv.counters.upcalls, 3, 'three timer expiries became upcalls');
  assert.deepEqual([pv.counters.mmuUpdates, pv.counters.mmuRefused], [1, 1]);
  assert.deepEqual([pv.counters.ballooned, pv.counters.reclaimed], [16, 16]);
  assert.ok(m.stats.counts[18] === pv.calls.total, 'each hypercall is a VMCALL trap into the monitor');
  assert.deepEqual(m.consistency().issues, [], 'the shadow follows the validated updates');
  assert.equal(m.cpu.cpl, 1, 'the kernel ran deprivileged');

  // Validation, called as the guest would (its tables are loaded: PD 0x200000, PT0 0x201000, PT1 0x202000).
  assert.equal(pv.mmuUpdate(0x202002, 0x310003), E_INVAL, 'an unaligned entry');
  assert.equal(pv.mmuUpdate(0x300000, 0x310003), E_INVAL, 'a frame that is not a page table');
  assert.equal(pv.mmuUpdate(0x202008, 0x7fff0003), E_INVAL, 'a frame outside the guest\'s memory');
  assert.equal(pv.mmuUpdate(0x202008, 0x200003), E_INVAL, 'the page directory mapped writable');
  assert.equal(pv.mmuUpdate(0x202008, 0x200001), 0, 'read-only is fine');
  assert.equal(pv.mmuUpdate(0x200008, 0x300003), E_INVAL, 'a new page table the guest still maps writable');
  assert.equal(pv.balloon(true, 0x201000, 1), E_INVAL, 'a page table cannot be given away');
  assert.equal(pv.balloon(false, 0x380000, 1), E_INVAL, 'nor a page taken back that was not given');
  assert.deepEqual(m.consistency().issues, []);
});

test('a paravirtual kernel whose tables map themselves writable is stopped when it turns paging on', { skip: !nasm && 'nasm not installed' }, () => {
  const src = join(repoRoot, 'samples/pvkernel.asm');
  assert.equal(runGuest(assembleFile(src), 'flat', 'paravirt').monitor!.fatal, undefined);
  // The same kernel with its table frames left writable: patch the three AND instructions away.
  const bytes = Buffer.from(readFileSync(assembleFile(src)));
  const and = Buffer.from([0x83, 0x25]); // and dword [disp32], imm8
  let patched = 0;
  for (let k = bytes.indexOf(and); k >= 0 && patched < 3; k = bytes.indexOf(and, k + 1)) { bytes.fill(0x90, k, k + 7); patched++; }
  assert.equal(patched, 3);
  const file = join(tmpdir(), `pvkernel-writable-${process.pid}.bin`);
  writeFileSync(file, bytes);
  const w = runGuest(file, 'flat', 'paravirt');
  assert.match(w.monitor!.fatal ?? '', /^paravirt: the page tables map their own frame 0x20[012] writable \(they must be read-only to the guest\)$/);
  rmSync(file);
});

test('the balloon under vtx with EPT: pages given back leave EPT and the host, and come back on demand', { skip: !nasm && 'nasm not installed' }, () => {
  let mappedAtStep2: number[] | undefined;
  const r = runGuest(BALLOON(), 'flat', 'ept', {
    onDebugByte: (b, vm) => {
      if (b === '2'.charCodeAt(0)) mappedAtStep2 = vm!.ept!.mappings().filter((x) => x.gpa >= 0x380000 && x.gpa < 0x384000).map((x) => x.gpa);
    },
  });
  assert.equal(r.output, '1421331\n', 'given 4, the touched page reads zero, 3 taken back, the fourth refused');
  assert.deepEqual(mappedAtStep2, [], 'the four pages are gone from EPT (their 2 MiB page split around them)');
  const vm = r.vm!, b = vm.vtxCalls.counters;
  assert.deepEqual([b.unmapped, b.freed, b.repopulated, b.reclaimed], [4, 4, 1, 3]);
  const now = vm.ept!.mappings().filter((x) => x.gpa >= 0x380000 && x.gpa < 0x384000).map((x) => [x.gpa, x.size]);
  assert.deepEqual(now, [[0x380000, 4096], [0x381000, 4096], [0x382000, 4096], [0x383000, 4096]], 'all back, as 4 KiB pages');
  assert.match(vm.statsLines().join('\n'), /balloon: +4 pages unmapped from EPT, 4 freed in the host, 3 taken back, 1 repopulated on access/);
  assert.equal(vm.calls.calls.get(HC.BALLOON)!.count, 3);
  // Under vtx the calls that stand in for hardware answer -ENOSYS.
  const c = vm.cpu;
  c.r32[0] = HC.SET_VIF; c.r32[3] = 1;
  vm.calls.dispatch(vm.vtxCalls);
  assert.equal(c.r32[0], E_NOSYS);
});

test('ringside run --mode paravirt --stats', { skip: !nasm && 'nasm not installed' }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'adapter/cli.ts'), 'run', PVKERNEL(), '--format', 'flat', '--mode', 'paravirt', '--stats'], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /pvkernel: done/);
  assert.match(r.stderr, /hypercalls: +39 \(console_write x21, mmu_update x2, set_vif x5, set_timer x3, set_callback x1, yield x3, balloon x2, get_time x2\)/);
});
