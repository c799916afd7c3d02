// EPT: the walk the processor does for each guest-physical access, the violation exit's qualification
// bits for read, write and fetch against each permission, misconfigurations, MMIO, large pages,
// accessed/dirty flags, and the two-dimensional walk of a paging guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Machine, MiB, GUEST_RAM_BASE } from '../../adapter/machine/pc';
import { createHypervisor } from '../../adapter/hypervisor/modes';
import type { Vm } from '../../adapter/hypervisor/vm';
import { EXIT } from '../../adapter/hypervisor/exits';
import { EPT_R, EPT_W, EPT_X, EPT_ACCESSED, EPT_DIRTY } from '../../adapter/hypervisor/ept';
import { ACC_READ, ACC_WRITE, ACC_EXEC, ACC_TABLE } from '../../adapter/cpu/paging';
import { CR0_PG } from '../../adapter/cpu/cpu';
import { assembleFile, haveNasm, repoRoot, runGuest } from './harness';

/** A VM over an 8 MiB machine (guest state as after reset) with the given settings. */
function vm(settings: Record<string, unknown> = {}) {
  const m = new Machine({ ramBytes: 8 * MiB });
  const v = createHypervisor(m, { mode: 'vtx', memory: 'ept', vmcs: { ept_page_size: '4k', trace: 4096, ...settings } }) as Vm;
  return { m, v, cpu: m.cpu, ept: v.ept! };
}

const PAGE = 0x200000;
/** Where guest-physical PAGE lives in host memory: guest RAM starts at host-physical GUEST_RAM_BASE. */
const HOST_PAGE = GUEST_RAM_BASE + PAGE;
const ACCESSES = [[ACC_READ, EPT_R, 'read'], [ACC_WRITE, EPT_W, 'write'], [ACC_EXEC, EPT_X, 'fetch']] as const;

test('violation qualification: access bits 2:0 and the permissions walked in 5:3, for each permission and access', () => {
  // Every combination the SDM allows in a leaf (write without read is a misconfiguration), and not present.
  for (const rwx of [0, EPT_R, EPT_R | EPT_W, EPT_X, EPT_R | EPT_X, EPT_R | EPT_W | EPT_X]) {
    for (const [acc, bit, name] of ACCESSES) {
      const { v, cpu, ept } = vm();
      assert.ok(ept.mapPage(PAGE, HOST_PAGE, '4k', rwx));
      const before = v.stats.total;
      cpu.xlatLin = 0x12345000;
      const hpa = cpu.gpaToHpa(PAGE + 0x10, acc);
      const allowed = (rwx & bit) === bit;
      assert.equal(hpa, HOST_PAGE + 0x10, `rwx=${rwx} ${name}: the access completes (after the handler, if it exited)`);
      if (allowed) {
        assert.equal(v.stats.total, before, `rwx=${rwx} ${name}: allowed, no exit`);
        continue;
      }
      assert.equal(v.stats.total, before + 1, `rwx=${rwx} ${name}: one exit`);
      const r = v.stats.recent(1)[0];
      assert.equal(r.reason, EXIT.EPT_VIOLATION);
      assert.equal(r.qualification & 7, bit, `rwx=${rwx} ${name}: access bit`);
      assert.equal((r.qualification >>> 3) & 7, rwx, `rwx=${rwx} ${name}: permission bits`);
      assert.equal(r.qualification & 0x180, 0x180, 'linear address valid; the access was to its translation');
      assert.equal(r.guestPhysical, PAGE + 0x10);
      assert.equal(r.guestLinear, 0x12345000);
      assert.equal(v.vmcs.read('exit_reason'), EXIT.EPT_VIOLATION, 'the VMCS exit-information fields hold it too');
      assert.equal(v.vmcs.read('exit_qualification'), r.qualification);
      assert.equal(v.vmcs.read('guest_physical_address'), PAGE + 0x10);
    }
  }
});

test('a guest paging-structure access: qualification bit 8 clear, counted as a write when A/D flags are on', () => {
  const { v, cpu, ept } = vm();
  ept.mapPage(PAGE, HOST_PAGE, '4k', EPT_R | EPT_X);
  cpu.cr0 |= 1 | CR0_PG; // a paging guest: the walker reads its tables through EPT
  cpu.xlatLin = 0x400000;
  cpu.gpaToHpa(PAGE + 8, ACC_READ | ACC_TABLE);
  const r = v.stats.recent(1)[0];
  assert.equal(r.reason, EXIT.EPT_VIOLATION);
  assert.equal(r.qualification & 7, EPT_W, 'treated as a write (EPT A/D enabled)');
  assert.equal(r.qualification & 0x180, 0x80, 'linear address valid, but the access was to a paging-structure entry');
  const noAd = vm({ ept_accessed_dirty: false });
  noAd.ept.mapPage(PAGE, HOST_PAGE, '4k', EPT_R | EPT_X);
  noAd.cpu.cr0 |= 1 | CR0_PG;
  const before = noAd.v.stats.total;
  assert.equal(noAd.cpu.gpaToHpa(PAGE + 8, ACC_READ | ACC_TABLE), HOST_PAGE + 8);
  assert.equal(noAd.v.stats.total, before, 'without A/D flags a read-only mapping is enough to read a table');
});

test('accessed and dirty flags are set by the walk, in every entry and on the leaf', () => {
  const { cpu, ept } = vm();
  ept.mapPage(PAGE, HOST_PAGE, '4k', 7);
  cpu.gpaToHpa(PAGE, ACC_READ);
  const leaf = () => cpu.dv.getInt32(ept.entryAddress(PAGE, 1), true);
  assert.equal(leaf() & (EPT_ACCESSED | EPT_DIRTY), EPT_ACCESSED, 'a read sets accessed only');
  for (let level = 4; level >= 2; level--) assert.ok(cpu.dv.getInt32(ept.entryAddress(PAGE, level), true) & EPT_ACCESSED, `level ${level} accessed`);
  cpu.gpaToHpa(PAGE, ACC_WRITE);
  assert.equal(leaf() & EPT_DIRTY, EPT_DIRTY, 'a write sets dirty');
  const off = vm({ ept_accessed_dirty: false });
  off.ept.mapPage(PAGE, HOST_PAGE, '4k', 7);
  off.cpu.gpaToHpa(PAGE, ACC_WRITE);
  assert.equal(off.cpu.dv.getInt32(off.ept.entryAddress(PAGE, 1), true) & (EPT_ACCESSED | EPT_DIRTY), 0);
  assert.equal(off.ept.eptp() & 0x40, 0, 'EPTP bit 6 follows the setting');
  assert.equal(ept.eptp() & 0x7f, 0x5e, 'EPTP: WB, 4-level walk, A/D enabled');
});

test('2 MiB and 1 GiB pages translate every byte inside them', () => {
  const { ept } = vm();
  assert.ok(ept.mapPage(0x400000, 0x600000, '2m', 7));
  assert.equal(ept.walk(0x4abcde, EPT_R, false, true), 0x6abcde);
  assert.equal(ept.level, 2);
  assert.ok(ept.mapPage(0x40000000, 0, '1g', 7));
  assert.equal(ept.walk(0x7fedcba8, EPT_W, false, true), 0x3fedcba8);
  assert.equal(ept.level, 3);
  const m = ept.mappings();
  assert.deepEqual(m.map((x) => [x.gpa, x.hpa, x.size]), [[0x400000, 0x600000, 0x200000], [0x40000000, 0, 0x40000000]]);
});

test('misconfigurations exit with 49 and stop the VM', () => {
  const cases: [string, (e: ReturnType<typeof vm>) => void][] = [
    ['write without read', (e) => e.ept.mapPage(PAGE, HOST_PAGE, '4k', EPT_W)],
    ['write and execute without read', (e) => e.ept.mapPage(PAGE, HOST_PAGE, '4k', EPT_W | EPT_X)],
    ['memory type 2', (e) => e.ept.mapPage(PAGE, HOST_PAGE, '4k', 7, 2)],
    ['memory type 7', (e) => e.ept.mapPage(PAGE, HOST_PAGE, '4k', 7, 7)],
    ['reserved address bit 36', (e) => { e.ept.mapPage(PAGE, HOST_PAGE, '4k', 7); e.cpu.dv.setInt32(e.ept.entryAddress(PAGE, 1) + 4, 0x10, true); }],
    ['reserved bits in a directory entry', (e) => { e.ept.mapPage(PAGE, HOST_PAGE, '4k', 7); const a = e.ept.entryAddress(PAGE, 2); e.cpu.dv.setInt32(a, e.cpu.dv.getInt32(a, true) | 0x18, true); }],
  ];
  for (const [what, make] of cases) {
    const e = vm();
    make(e);
    assert.equal(e.cpu.gpaToHpa(PAGE, ACC_READ), -1, what);
    const r = e.v.stats.recent(1)[0];
    assert.equal(r.reason, EXIT.EPT_MISCONFIG, what);
    assert.equal(r.guestPhysical, PAGE);
    assert.match(e.m.exit?.reason ?? '', /EPT misconfiguration at guest-physical 0x200000/, what);
  }
  const fine = vm();
  fine.ept.mapPage(PAGE, HOST_PAGE, '4k', EPT_X); // execute-only is allowed
  assert.equal(fine.cpu.gpaToHpa(PAGE, ACC_EXEC), HOST_PAGE);
  assert.equal(fine.m.exit, undefined);
});

test('MMIO stays unmapped: a violation first, then misconfiguration exits for every later fill, and the device model answers', () => {
  const { m, v, cpu } = vm();
  const MMIO = 0xfee00000;
  assert.equal(cpu.gpaToHpa(MMIO, ACC_READ), -1);
  assert.equal(v.stats.recent(1)[0].reason, EXIT.EPT_VIOLATION);
  assert.equal(cpu.gpaToHpa(MMIO, ACC_WRITE), -1);
  assert.equal(v.stats.recent(1)[0].reason, EXIT.EPT_MISCONFIG, 'the hypervisor left a misconfigured marker');
  assert.equal(m.exit, undefined, 'its own marker does not stop the VM');
  assert.equal(v.counters.mmioAccesses, 2);
  assert.ok(v.ept!.mappings().some((x) => x.mmio && x.gpa === MMIO));
});

test('lazy EPT of a paging guest: the two-dimensional walk reads guest tables through EPT', { skip: !haveNasm() && 'nasm not installed' }, () => {
  const image = assembleFile(join(repoRoot, 'samples/kernel.asm'));
  const r = runGuest(image, 'multiboot', 'ept', { vmcs: { ept_page_size: '4k', trace: 100000 } });
  const vmx = r.vm!;
  const violations = vmx.stats.recent().filter((x) => x.reason === EXIT.EPT_VIOLATION);
  assert.ok(violations.length > 10, 'one violation per guest page touched');
  const tableAccess = violations.filter((x) => (x.qualification & 0x180) === 0x80);
  assert.ok(tableAccess.length >= 1, 'some were the walker reading a guest page table through EPT');
  const cr3 = vmx.guestCr(3) & ~0xfff;
  for (const x of tableAccess) {
    // The frame is the page table the guest's directory names for that linear address.
    const pde = new DataView(r.machine.ram.buffer, r.machine.ram.byteOffset).getInt32(cr3 + (x.guestLinear >>> 22) * 4, true);
    assert.equal((pde & ~0xfff) >>> 0, (x.guestPhysical & ~0xfff) >>> 0, `table read for linear 0x${x.guestLinear.toString(16)}`);
  }
  // Every EPT leaf the guest used has its accessed flag set; the guest's page-table frames are dirty
  // (table accesses count as writes).
  const leaves = vmx.ept!.mappings();
  assert.equal(leaves.length, vmx.ept!.mapped['4k']);
  assert.ok(leaves.every((x) => x.accessed));
  assert.ok(leaves.find((x) => x.gpa === cr3)?.dirty, 'the page directory is dirty in EPT: table accesses count as writes');
  assert.equal(r.output, runGuest(image, 'multiboot', 'none').output);
});
