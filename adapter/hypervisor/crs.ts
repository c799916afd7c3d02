// Control registers as the guest sees them. With EPT the processor's CR0/CR3/CR4 are the guest's and
// an exit only tells the hypervisor about a change of a host-owned bit. With shadow paging they part:
// the processor's CR3 holds the shadow root, its CR0.WP stays on while the guest pages (so the guest's
// write-protected page tables trap even in supervisor mode), and the guest's values live in the
// read shadows and in vm.guest.
import { CR0_PE, CR0_PG, CR0_WP, CR0_NW, CR0_CD, CR0_ET, CR4_PSE, CR4_PAE, CR4_PGE } from '../cpu/cpu';
import { writeCr0, writeCr3, writeCr4, CR4_SUPPORTED } from '../cpu/privileged';
import type { Vm } from './vm';

/** CR0 bits that exist (PE MP EM TS ET NE WP AM NW CD PG). */
const CR0_DEFINED = 0xe005003f | 0;

const paging = (cr0: number) => (cr0 & CR0_PG) !== 0 && (cr0 & CR0_PE) !== 0;

/** MOV to CR0 (or LMSW/CLTS) by the guest: its checks, then the processor's CR0 and the shadow MMU follow. */
export function setGuestCr0(vm: Vm, value: number): void {
  const cpu = vm.cpu;
  const v = (value & CR0_DEFINED) | CR0_ET;
  if (v & CR0_PG && !(v & CR0_PE)) cpu.gp(0);
  if (v & CR0_NW && !(v & CR0_CD)) cpu.gp(0);
  if (!vm.shadow) {
    writeCr0(cpu, v);
    vm.guest.cr0 = v;
    vm.vmcs.write('cr0_shadow', v);
    return;
  }
  const old = vm.guest.cr0;
  const was = paging(old), now = paging(v);
  // Enabling PAE paging loads the PDPTEs from the guest's CR3 (a bad one is #GP before anything changes).
  if (now && vm.guest.cr4 & CR4_PAE && (!was || (old ^ v) & (CR0_CD | CR0_NW))) vm.loadGuestPdptes(vm.guest.cr3);
  vm.guest.cr0 = v;
  vm.vmcs.write('cr0_shadow', v);
  if (!now && was) cpu.cr3 = vm.guest.cr3;
  writeCr0(cpu, now ? v | CR0_WP : v);
  // Paging on (shadow pages may be stale: the guest's tables were not write-protected meanwhile), off,
  // or a CR0.WP change (it is part of every shadow page's role): a new root.
  if (was !== now || (now && (old ^ v) & CR0_WP)) vm.configureShadow(now && !was);
}

/** MOV to CR3 by the guest. */
export function setGuestCr3(vm: Vm, v: number): void {
  if (!vm.shadow) { writeCr3(vm.cpu, v); return; }
  vm.guestCr3Loaded(v);
}

/** MOV to CR4 by the guest. */
export function setGuestCr4(vm: Vm, v: number): void {
  const cpu = vm.cpu;
  if (v & ~CR4_SUPPORTED) cpu.gp(0);
  if (!vm.shadow) {
    writeCr4(cpu, v);
    vm.guest.cr4 = v;
    vm.vmcs.write('cr4_shadow', v);
    return;
  }
  const old = vm.guest.cr4;
  const on = paging(vm.guest.cr0);
  const modeBits = CR4_PAE | CR4_PSE | CR4_PGE;
  if (on && v & CR4_PAE && (old ^ v) & modeBits) {
    vm.guest.cr4 = v; // the PDPTE check reads with the new mode
    try { vm.loadGuestPdptes(vm.guest.cr3); } catch (e) { vm.guest.cr4 = old; throw e; }
  }
  vm.guest.cr4 = v;
  vm.vmcs.write('cr4_shadow', v);
  cpu.cr4 = v;
  cpu.brk = true;
  if ((old ^ v) & modeBits) {
    if (on) vm.configureShadow(true);
    else cpu.tlb.flushAll();
  }
}
