// Host physical memory under each mode: the hypervisor's structures in low host memory, guest RAM
// as one slot at host-physical GUEST_RAM_BASE. EPT leaves and shadow PTEs hold host addresses that
// differ from the guest-physical ones, and the guest's writes land in host memory at GPA + base.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GUEST_RAM_BASE } from '../../adapter/machine/pc';
import { eptView, shadowView } from '../../adapter/hypervisor/views';
import { checkShadow } from '../../adapter/hypervisor/consistency';
import type { Vm } from '../../adapter/hypervisor/vm';
import type { Monitor } from '../../adapter/hypervisor/monitor';
import { assembleFile, assembleText, haveNasm, repoRoot, runGuest } from './harness';

const nasm = haveNasm();
const DATA = 0x234000, MARK_AT = DATA + 0x560, MARK = 0x4b52414d; // "MARK"
const LINEAR = 0x400000; // mapped by the guest to DATA

/** Paging on with linear 4 MiB -> DATA; writes MARK through that mapping and reads it back identity-mapped. */
const GUEST = `bits 32
org 0x100000
PD   equ 0x200000
PT0  equ 0x201000
PT1  equ 0x202000
start:
    mov edi, PD
    mov ecx, 3 * 1024
    xor eax, eax
    rep stosd
    mov edi, PT0                ; identity map of 0..4 MiB
    mov eax, 3
    mov ecx, 1024
fill:
    stosd
    add eax, 0x1000
    loop fill
    mov dword [PD], PT0 | 3
    mov dword [PD + 4], PT1 | 3
    mov dword [PT1], ${DATA} | 3
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov dword [${LINEAR + 0x560}], ${MARK}
    mov al, [${MARK_AT}]        ; 'M', read back at its guest-physical address
    out 0xe9, al
    mov al, '#'                 ; checkpoint for the test
    out 0xe9, al
    mov al, 0
    out 0xf4, al
    hlt
`;

const dword = (mem: Uint8Array, at: number) => new DataView(mem.buffer, mem.byteOffset).getUint32(at, true);

/** Every host page the hypervisor allocated lies below guest RAM, and none is page 0. */
function structuresBelowRam(hv: Vm | Monitor): void {
  const pages = [...hv.pages.owner.keys()];
  assert.ok(pages.length > 0);
  assert.ok(pages.every((p) => p > 0 && p * 4096 < GUEST_RAM_BASE), 'hypervisor structures sit in low host memory, below guest RAM');
}

test('plain emulation has no host: the CPU addresses guest RAM alone', { skip: !nasm && 'nasm not installed' }, () => {
  const r = runGuest(assembleText('hostmem-none', GUEST), 'flat', 'none');
  assert.equal(r.output, 'M#');
  const m = r.machine;
  assert.equal(m.cpu.mem, m.ram, 'the CPU\'s memory is the guest-RAM view');
  assert.equal(m.cpu.ramBase, 0);
  assert.equal(dword(m.hostMem, GUEST_RAM_BASE + MARK_AT), MARK, 'guest RAM is the same slot of host memory');
});

test('vtx+ept: EPT maps GPA 0 to HPA 0x1000000, and a guest write lands in host memory at GPA + base', { skip: !nasm && 'nasm not installed' }, () => {
  let checked = false;
  const r = runGuest(assembleText('hostmem-ept', GUEST), 'flat', 'ept', {
    onDebugByte: (b, vm, m) => {
      if (b !== '#'.charCodeAt(0)) return;
      const ept = vm!.ept!;
      // What the EPT tab shows: the first mapping starts at GPA 0 and HPA 0x1000000.
      const view = eptView(vm!);
      assert.ok(view.available);
      const first = view.mappings[0];
      assert.deepEqual([first.gpa, first.hpa], [0, 0x1000000]);
      // The leaf that maps DATA holds DATA + base, and the walk gives it.
      const leaf = ept.mappings().find((x) => !x.mmio && x.gpa <= DATA && DATA < x.gpa + x.size)!;
      assert.equal(leaf.hpa + (DATA - leaf.gpa), GUEST_RAM_BASE + DATA);
      assert.equal(ept.walk(MARK_AT, 1, false, true), GUEST_RAM_BASE + MARK_AT);
      assert.equal(m.cpu.gpaPeek(MARK_AT), GUEST_RAM_BASE + MARK_AT, 'the debugger\'s view agrees');
      assert.equal(dword(m.hostMem, GUEST_RAM_BASE + MARK_AT), MARK, 'the write is in host memory at GPA + base');
      assert.notEqual(dword(m.hostMem, MARK_AT), MARK, 'and not at host-physical = guest-physical');
      assert.equal(dword(m.ram, MARK_AT), MARK, 'the guest-RAM view reads it by GPA');
      assert.ok(ept.pml4 > 0 && ept.pml4 < GUEST_RAM_BASE && vm!.vmcs.hpa < GUEST_RAM_BASE);
      structuresBelowRam(vm!);
      checked = true;
    },
  });
  assert.ok(checked);
  assert.equal(r.output, 'M#');
});

test('vtx+shadow: a shadow PTE holds the guest PTE\'s frame + base; the consistency check passes, and fails when broken', { skip: !nasm && 'nasm not installed' }, () => {
  let checked = false;
  const r = runGuest(assembleText('hostmem-shadow', GUEST), 'flat', 'shadow', {
    onDebugByte: (b, vm, m) => {
      if (b !== '#'.charCodeAt(0)) return;
      const mmu = vm!.shadow!;
      const l = mmu.leafLocation(LINEAR)!;
      const at = l.page.hpa + l.index * 4;
      const entry = m.cpu.dv.getInt32(at, true);
      assert.equal((entry & ~0xfff) >>> 0, GUEST_RAM_BASE + DATA, 'shadow PTE frame = guest PTE frame + base');
      const row = (shadowView(vm!) as { mappings: { gva: number; gpa: number; hpa: number }[] }).mappings.find((x) => x.gva === LINEAR)!;
      assert.deepEqual([row.gpa, row.hpa], [DATA, GUEST_RAM_BASE + DATA], 'the shadow tab shows GVA -> GPA and the real HPA');
      assert.deepEqual(checkShadow(mmu, vm!.guestView).issues, []);
      // A shadow PTE that used the guest-physical frame as the host one is caught.
      m.cpu.dv.setInt32(at, (entry & 0xfff) | DATA, true);
      assert.match(checkShadow(mmu, vm!.guestView).issues.join('\n'), /maps host 0x234000, but guest frame 0x234 is at host 0x1234000/);
      m.cpu.dv.setInt32(at, entry, true);
      assert.equal(dword(m.hostMem, GUEST_RAM_BASE + MARK_AT), MARK);
      structuresBelowRam(vm!);
      checked = true;
    },
  });
  assert.ok(checked);
  assert.equal(r.output, 'M#');
});

for (const mode of ['trap-and-emulate', 'binary-translation'] as const) {
  test(`${mode}: the monitor's window and shadow tables in low host memory, guest frames at GPA + base`, { skip: !nasm && 'nasm not installed' }, () => {
    const r = runGuest(assembleText(`hostmem-${mode}`, GUEST), 'flat', mode);
    assert.equal(r.output, 'M#');
    const mon = r.monitor!;
    structuresBelowRam(mon);
    assert.ok(mon.window.pt < GUEST_RAM_BASE && mon.window.tssPage < GUEST_RAM_BASE);
    const l = mon.shadow.leafLocation(LINEAR)!;
    assert.equal((r.machine.cpu.dv.getInt32(l.page.hpa + l.index * 4, true) & ~0xfff) >>> 0, GUEST_RAM_BASE + DATA);
    assert.deepEqual(mon.consistency().issues, []);
    assert.equal(dword(r.machine.hostMem, GUEST_RAM_BASE + MARK_AT), MARK);
  });
}

test('the balloon under vtx+ept frees the guest page\'s host page (GPA + base), and it comes back there', { skip: !nasm && 'nasm not installed' }, () => {
  const PAGES = 0x380000, host = GUEST_RAM_BASE + PAGES;
  const seen: number[] = [];
  const r = runGuest(assembleFile(join(repoRoot, 'test/hypervisor/guests/balloon.asm')), 'flat', 'ept', {
    onDebugByte: (b, _vm, m) => {
      if (b === '1'.charCodeAt(0) && !seen.length) seen.push(dword(m.hostMem, host)); // written, before the give
      if (b === '2'.charCodeAt(0)) seen.push(dword(m.hostMem, host)); // given back: freed in the host
    },
  });
  assert.equal(r.output, '1421331\n');
  assert.deepEqual(seen, [0x12345678, 0]);
  const vm = r.vm!;
  assert.deepEqual([vm.vtxCalls.counters.freed, vm.vtxCalls.counters.repopulated, vm.vtxCalls.counters.reclaimed], [4, 1, 3]);
  for (let k = 0; k < 4; k++) assert.equal(vm.ept!.walk(PAGES + k * 4096, 1, false, true), host + k * 4096, `page ${k} back at its host page`);
});
