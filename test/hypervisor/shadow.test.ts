// Shadow paging: after each kind of guest change (a PTE write, INVLPG, a CR3 switch, a CR0.WP toggle,
// a PSE large page) every present shadow entry must equal the composition of the guest's translation
// and the GPA -> HPA map, permissions no wider; and the shadow must be in the state each case implies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assembleFile, haveNasm, repoRoot, runGuest, MODES } from './harness';
import type { Vm } from '../../adapter/hypervisor/vm';
import { ROLE_WP } from '../../adapter/hypervisor/shadow';
import { checkShadow } from '../../adapter/hypervisor/consistency';
import { GUEST_RAM_BASE } from '../../adapter/machine/pc';

const nasm = haveNasm();
const PD_A = 0x200000, PT1 = 0x202000, PD_B = 0x203000, F_A = 0x300000, F_B = 0x310000, F_C = 0x320000, RO_PAGE = 0x180000, WINDOW = 0x400000;
const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40;
/** The host-physical address of a guest-physical one: guest RAM starts at host-physical GUEST_RAM_BASE. */
const host = (gpa: number) => GUEST_RAM_BASE + gpa;

/** The shadow leaf that maps a linear address now (its low dword), or 0 when there is none. */
function leaf(vm: Vm, lin: number): number {
  const l = vm.shadow!.leafLocation(lin);
  return l ? vm.cpu.dv.getInt32(l.page.hpa + l.index * 4, true) >>> 0 : 0;
}
const guest32 = (vm: Vm, gpa: number) => new DataView(vm.machine.ram.buffer, vm.machine.ram.byteOffset).getInt32(gpa, true) >>> 0;

test('shadow tables stay consistent through PTE writes, INVLPG, CR3 switches, CR0.WP and PSE pages', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/shadow-cases.asm'));
  const seen: string[] = [];
  const checks: Record<string, (vm: Vm) => void> = {
    '1': (vm) => {
      assert.equal(vm.shadow!.root!.gfn, PD_A >>> 12, 'the root shadows directory A');
      assert.ok(vm.shadow!.isTracked(PD_A >>> 12), 'the guest directory is write-protected');
      assert.equal(vm.cpu.cr3 >>> 0, vm.shadow!.root!.hpa, 'the processor walks the shadow root');
      assert.equal(vm.guestCr(3), PD_A, 'the guest still sees its own CR3');
    },
    '2': (vm) => {
      assert.equal(leaf(vm, WINDOW) & ~0xfff, host(F_A), 'WINDOW -> frame A, at its host address');
      assert.equal(leaf(vm, WINDOW) & RW, 0, 'read only: the guest entry is not dirty yet');
      assert.equal(leaf(vm, WINDOW + 0x1000) & RW, RW, 'written page: writable in the shadow');
      assert.equal(guest32(vm, PT1 + 4) & (A | D), A | D, 'accessed and dirty set in the guest PTE');
      assert.equal(guest32(vm, PT1) & (A | D), A, 'accessed only for the page that was read');
      assert.ok(vm.shadow!.isTracked(PT1 >>> 12), 'the guest page table is write-protected');
    },
    '3': (vm) => {
      assert.ok(vm.shadow!.counters.emulatedWrites >= 1, 'the PTE write was trapped and emulated');
      assert.equal(guest32(vm, PT1), F_B | 3, 'and landed in the guest table');
      assert.equal(leaf(vm, WINDOW) & P, 0, 'the shadow entry built from the old PTE is gone');
    },
    '4': (vm) => {
      assert.ok(vm.shadow!.counters.invlpg >= 1);
      assert.equal(leaf(vm, WINDOW) & ~0xfff, host(F_B), 'rebuilt from the new PTE');
    },
    '5': (vm) => {
      assert.equal(vm.shadow!.root!.gfn, PD_B >>> 12, 'a root for directory B');
      assert.equal(leaf(vm, WINDOW) & ~0xfff, host(F_C));
    },
    '6': (vm) => {
      assert.equal(vm.shadow!.root!.gfn, PD_A >>> 12, 'back to the root of A (kept in the cache)');
      assert.equal(leaf(vm, WINDOW) & ~0xfff, host(F_B));
    },
    '7': (vm) => {
      assert.equal(vm.shadow!.root!.role & ROLE_WP, 0, 'CR0.WP is part of the role: a root for WP = 0');
      assert.equal(vm.cpu.cr0 & 0x10000, 0x10000, 'the processor keeps WP on');
      assert.equal(vm.guestCr(0) & 0x10000, 0, 'the guest reads WP off');
      const l = leaf(vm, RO_PAGE);
      assert.equal(l & (RW | US), RW, 'supervisor write to a read-only guest page: writable, supervisor-only in the shadow');
    },
    '8': (vm) => {
      assert.equal(vm.shadow!.root!.role & ROLE_WP, ROLE_WP);
      assert.equal(leaf(vm, RO_PAGE) & RW, 0);
    },
    '9': (vm) => {
      const l = vm.shadow!.leafLocation(0x801234);
      assert.ok(l && l.page.direct, 'a guest 4 MiB page is shadowed by a direct shadow page of 4 KiB entries');
      assert.equal(leaf(vm, 0x801234) & ~0xfff, host(0x801000));
    },
  };
  const r = runGuest(image, 'flat', 'shadow', {
    onDebugByte: (b, vm) => {
      const step = String.fromCharCode(b);
      if (!checks[step]) return;
      const report = vm!.consistency()!;
      assert.deepEqual(report.issues, [], `step ${step}: consistent`);
      assert.ok(report.checked > 0, `step ${step}: something was checked`);
      checks[step](vm!);
      seen.push(step);
    },
  });
  assert.deepEqual(seen, ['1', '2', '3', '4', '5', '6', '7', '8', '9']);
  for (const m of MODES.filter((x) => x !== 'shadow')) assert.equal(runGuest(image, 'flat', m).output, r.output, `same output under ${m}`);
  assert.equal(r.output, '1A23B4C5B6w7w8Z9');
});

test('the consistency check finds a shadow entry that disagrees with the guest', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/shadow-cases.asm'));
  let done = false;
  runGuest(image, 'flat', 'shadow', {
    onDebugByte: (b, vm) => {
      if (b !== '2'.charCodeAt(0) || done) return;
      done = true;
      const mmu = vm!.shadow!;
      const l = mmu.leafLocation(WINDOW)!;
      const at = l.page.hpa + l.index * 4;
      const good = vm!.cpu.dv.getInt32(at, true);
      const issues = (v: number) => { vm!.cpu.dv.setInt32(at, v, true); const r = checkShadow(mmu, vm!.guestView).issues; vm!.cpu.dv.setInt32(at, good, true); return r; };
      assert.match(issues((good & 0xfff) | host(F_C)).join('\n'), /maps host 0x1320000, but guest frame 0x300 is at host 0x1300000/);
      // The mistake of using a guest-physical address as a host-physical one is caught too.
      assert.match(issues((good & 0xfff) | F_A).join('\n'), /maps host 0x300000, but guest frame 0x300 is at host 0x1300000/);
      assert.match(issues(good | RW).join('\n'), /writable while the guest entry is clean/);
      // Were frame A+1 (written, so writable in the shadow) a guest page table, its mapping would have to be read-only.
      mmu.tracked.set((F_A + 0x1000) >>> 12, 1);
      assert.match(checkShadow(mmu, vm!.guestView).issues.join('\n'), /writable mapping of frame 0x301, which holds a shadowed guest table/);
      mmu.tracked.delete((F_A + 0x1000) >>> 12);
      assert.deepEqual(checkShadow(mmu, vm!.guestView).issues, []);
    },
  });
  assert.ok(done);
});

test('a write that bypasses the write protection (the debugger, a device) resynchronizes the shadow', { skip: !nasm && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'test/hypervisor/guests/shadow-cases.asm'));
  let done = false;
  const r = runGuest(image, 'flat', 'shadow', {
    onDebugByte: (b, vm, m) => {
      if (b !== '6'.charCodeAt(0)) return;
      assert.equal(leaf(vm!, WINDOW) & ~0xfff, host(F_B));
      const pte = new Uint8Array(4);
      new DataView(pte.buffer).setUint32(0, F_C | 3, true);
      m.writePhys(PT1, pte); // as the debugger's memory write does
      assert.equal(leaf(vm!, WINDOW) & P, 0, 'the shadow entry built from the old PTE is dropped');
      assert.deepEqual(vm!.consistency()!.issues, []);
      new DataView(pte.buffer).setUint32(0, F_B | 3, true);
      m.writePhys(PT1, pte);
      done = true;
    },
  });
  assert.ok(done);
  assert.equal(r.output, '1A23B4C5B6w7w8Z9');
});
