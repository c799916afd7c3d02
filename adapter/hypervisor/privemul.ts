// The trap-and-emulate monitor's #GP handler: the guest kernel, deprivileged at ring 1, executed an
// instruction that needs ring 0 (or loaded a ring-0 selector the processor refuses at ring 1). The
// monitor decodes it and performs it against the virtual CPU state, as ring 0 would have; if the
// instruction faults there too, that fault goes to the guest. From ring 3 only SYSENTER (the
// monitor keeps SYSENTER_CS null so that it faults), I/O the guest's TSS bitmap allows and far
// JMP/CALL to a guest task are the monitor's (in virtual-8086 mode also the IOPL-sensitive
// instructions, v86.ts); every other #GP is the guest's own and is reflected to it.
import type { Cpu } from '../cpu/cpu';
import { CPU_FAULT, AR_P, AR_S, AR_DB, AR_G, AR_DPL_SHIFT } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import { CS, SS } from '../cpu/insn';
import { IF, VM, RF, IOPL, NT } from '../cpu/flags';
import { invlpg } from '../cpu/privileged';
import { deliverException } from '../cpu/interrupts';
import { EXIT } from './exits';
import { TSS_LIN, TSS_LIMIT } from './shadowdesc';
import type { Monitor } from './monitor';
import { farTaskTransfer } from './taskswitch';
import { iretToV86, v86Op } from './v86';

const FLAT_CODE = AR_P | AR_S | 0xb | AR_DB | AR_G, FLAT_DATA = AR_P | AR_S | 0x3 | AR_DB | AR_G;
const MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176;

export type Emulation = () => void | 'restart';

let nested = false;

/** An exception is being delivered as the guest's own (deliverToGuest): it is no trap of the monitor's. */
export function reflecting(): boolean {
  return nested;
}

/** Deliver an exception to the guest as its own (the monitor does not try to emulate the instruction again). */
export function deliverToGuest(c: Cpu, vector: number, err: number, hasError: boolean): void {
  const was = nested;
  nested = true;
  try { deliverException(c, vector, err, hasError, false); } finally { nested = was; }
}

/** Returns -1 when the monitor emulated the instruction (or had it restart), else the error code to reflect. */
export function emulatePrivileged(m: Monitor, err: number, info: number): number {
  const c = m.cpu;
  if (nested) return err; // a #GP raised by an emulation itself: the guest's
  let i: Insn;
  try {
    i = c.code.lookup().insns[0];
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return err;
  }
  const op = c.cpl === 3 ? userOp(m, c, i) : c.cpl === 1 ? kernelOp(m, c, i, err) : undefined;
  if (!op) {
    m.counters.reflectedFaults++;
    m.exit(EXIT.EXCEPTION_NMI, { interruptionInfo: info, errorCode: err, instructionLength: i.len, text: `#GP: ${m.insnText(i)} reflected to the guest` });
    return err;
  }
  const text = m.insnText(i);
  m.exit(EXIT.EXCEPTION_NMI, { interruptionInfo: info, errorCode: err, instructionLength: i.len, text: `#GP: ${text} emulated` });
  const mn = text.split(' ')[0];
  m.emulated.set(mn, (m.emulated.get(mn) ?? 0) + 1);
  emulateAsGuest(m, c, i, c.eip, () => {
    const r = op();
    if (r !== 'restart') m.counters.emulatedPrivileged++;
    return r;
  });
  return -1;
}

/**
 * Performs instruction `i` (at `start`) as the guest's ring 0 would, with `op`; 'restart' runs it
 * again. A fault raised on the way is the guest's, delivered at curEip: the instruction's own
 * address, or the new task's first instruction once a task switch has committed.
 */
export function emulateAsGuest(m: Monitor, c: Cpu, i: Insn, start: number, op: () => unknown): void {
  c.curEip = start;
  c.eip = (start + i.len) & (c.code32 ? -1 : 0xffff);
  m.inHandler = true;
  try {
    if (op() === 'restart') c.eip = start;
    else c.icount++;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    c.eip = c.curEip;
    m.inHandler = false;
    deliverToGuest(c, c.faultVector, c.faultError, c.faultHasError);
  } finally {
    m.inHandler = false;
  }
  c.brk = true;
}

/** The emulation of a privileged kernel instruction, for binary translation's monitor calls (no #GP first). */
export function kernelEmulation(m: Monitor, c: Cpu, i: Insn): Emulation | undefined {
  return kernelOp(m, c, i, 0);
}

/** Run a native handler as at ring 0 (I/O, debug registers, MSRs, TSC and counters). */
function asRing0(c: Cpu, f: () => void): void {
  const saved = c.cpl;
  c.cpl = 0;
  try { f(); } finally { if (c.cpl === 0) c.cpl = saved; }
}

function readEw(c: Cpu, i: Insn): number {
  return i.mem ? c.read16(i.seg, i.ea(c, i)) : c.r16[i.rm << 1];
}

/** What the guest kernel (virtual ring 0, real ring 1) gets emulated. */
function kernelOp(m: Monitor, c: Cpu, i: Insn, err: number): Emulation | undefined {
  const v = m.v;
  switch (i.entry.handler) {
    case 'cli': return () => { v.vif = false; };
    case 'sti': return () => { if (!v.vif) { v.vif = true; c.shadow = true; } };
    case 'hlt': return () => {
      c.halted = true;
      // Halting with the guest's IF clear waits for nothing: the processor stops taking interrupts too.
      if (!v.vif) c.setEflags(c.getEflags() & ~IF);
    };
    case 'in': case 'out': case 'ins': case 'outs': case 'movdr': case 'rdtsc': case 'rdpmc':
      return () => asRing0(c, () => i.native(c, i));
    case 'invd': case 'wbinvd': return () => {};
    case 'movcr': {
      const n = i.reg, r = i.rm;
      if (i.entry.sub === 0) return () => {
        if (n !== 0 && n !== 2 && n !== 3 && n !== 4) c.ud();
        c.r32[r] = m.guestCr(n);
      };
      return () => {
        const val = c.r32[r];
        if (n === 0) m.setGuestCr0(val);
        else if (n === 2) { c.cr2 = val; m.guest.cr2 = val; }
        else if (n === 3) m.setGuestCr3(val);
        else if (n === 4) m.setGuestCr4(val);
        else c.ud();
      };
    }
    case 'clts': return () => { m.guest.cr0 &= ~8; c.cr0 &= ~8; };
    case 'lmsw': return () => {
      const src = readEw(c, i);
      m.setGuestCr0((m.guest.cr0 & ~0xe) | (src & 0xf) | (m.guest.cr0 & 1));
    };
    case 'lgdt': case 'lidt': return () => {
      const ea = i.ea(c, i);
      const limit = c.read16(i.seg, ea);
      let base = c.read32(i.seg, (ea + 2) | 0) >>> 0;
      if (i.osize === 2) base &= 0xffffff;
      if (i.entry.handler === 'lgdt') { v.gdtBase = base; v.gdtLimit = limit; } else { v.idtBase = base; v.idtLimit = limit; }
      m.loadShadowTables();
    };
    case 'ltr': return () => ltr(m, c, readEw(c, i));
    case 'jmpf': case 'callf': return farTaskTransfer(m, c, i); // a task switch (other far transfers run natively)
    case 'lldt': return () => m.loadLdt(readEw(c, i), 13);
    case 'invlpg': return () => {
      const lin = (c.segBase[i.seg] + i.ea(c, i)) | 0;
      m.shadow.invlpg(lin >>> 0);
      invlpg(c, lin);
    };
    case 'rdmsr': case 'wrmsr': {
      const msr = c.r32[1] >>> 0;
      if (msr < MSR_SYSENTER_CS || msr > MSR_SYSENTER_EIP) return () => asRing0(c, () => i.native(c, i));
      // The SYSENTER MSRs are virtual: the processor's SYSENTER_CS stays null.
      const key = msr === MSR_SYSENTER_CS ? 'sysenterCs' : msr === MSR_SYSENTER_ESP ? 'sysenterEsp' : 'sysenterEip';
      if (i.entry.handler === 'rdmsr') return () => { c.r32[0] = v[key]; c.r32[2] = 0; };
      return () => { v[key] = msr === MSR_SYSENTER_CS ? c.r32[0] & 0xffff : c.r32[0]; };
    }
    case 'sysenter': return sysenter(m, c);
    case 'sysexit': return () => {
      const cs = v.sysenterCs & 0xfffc;
      if (!cs) c.gp(0);
      c.loadSegCache(CS, ((cs + 16) | 3) & 0xffff, 0, -1, FLAT_CODE | (3 << AR_DPL_SHIFT));
      c.loadSegCache(SS, ((cs + 24) | 3) & 0xffff, 0, -1, FLAT_DATA | (3 << AR_DPL_SHIFT));
      c.setCpl(3, 'sysexit');
      c.r32[4] = c.r32[1];
      c.eip = c.r32[2];
    };
    case 'movsreg': {
      // MOV SS with a ring-0 selector: at ring 1 the RPL must be 1.
      if (i.entry.sub !== 1 || i.reg !== SS || i.mem) return undefined;
      const sel = c.r16[i.rm << 1];
      if ((sel & 3) !== 0 || (sel & 0xfffc) === 0 || (err & 0xfffc) !== (sel & 0xfffc)) return undefined;
      return () => {
        const r = i.rm << 1;
        c.r16[r] = sel | 1;
        try { i.native(c, i); } finally { c.r16[r] = sel; }
      };
    }
    case 'pop_sreg': {
      if (i.entry.sub !== SS) return undefined;
      const sp = c.getSp();
      const sel = c.read16(SS, sp);
      if ((sel & 3) !== 0 || (sel & 0xfffc) === 0) return undefined;
      return () => { c.write16(SS, sp, sel | 1); m.holes.fixup(i, `POP SS of selector 0x${sel.toString(16)}: the monitor raised its RPL to 1 on the guest's stack`); return 'restart'; };
    }
    case 'iret': case 'retf': {
      const sp = c.getSp();
      const size = i.osize;
      // IRETD to VM = 1: at ring 1 the processor took the frame's CS as a protected-mode selector and
      // refused it; the monitor enters the guest's v86 task (v86.ts).
      if (i.entry.handler === 'iret' && size === 4 && !(c.flags & NT) && c.read32(SS, (sp + 8) | 0) & VM) return () => iretToV86(m);
      // A return to a ring-0 code selector: at ring 1 that is a return to a more privileged level.
      const cs = c.read16(SS, (sp + size) | 0);
      if ((cs & 3) !== 0 || (cs & 0xfffc) !== (err & 0xfffc) || (cs & 0xfffc) === 0) return undefined;
      return () => {
        c.write16(SS, (sp + size) | 0, cs | 1);
        m.holes.fixup(i, `${i.entry.handler.toUpperCase()} to CS 0x${cs.toString(16)}: the monitor raised the frame's RPL to 1`);
        return 'restart';
      };
    }
  }
  return undefined;
}

/** From ring 3: SYSENTER, I/O the guest's own IOPL or TSS bitmap allows, a task switch; v86 mode's own (v86.ts). */
function userOp(m: Monitor, c: Cpu, i: Insn): Emulation | undefined {
  const h = i.entry.handler;
  if (c.isV86()) return v86Op(m, c, i, (port, size) => guestBitmapAllows(m, port, size));
  if (h === 'sysenter') return sysenter(m, c);
  if (h === 'jmpf' || h === 'callf') return farTaskTransfer(m, c, i);
  if (h === 'in' || h === 'out' || h === 'ins' || h === 'outs') {
    const port = i.entry.operands.includes('Ib') ? i.imm & 0xff : c.r16[4];
    const size = i.entry.sub === 1 ? 1 : i.osize;
    if (((c.flags & IOPL) >>> 12) < 3 && !guestBitmapAllows(m, port, size)) return undefined;
    return () => asRing0(c, () => i.native(c, i));
  }
  return undefined;
}

/** SYSENTER (from the guest's ring 3, or its ring 0, where it is legal too): into the guest kernel at ring 1. */
function sysenter(m: Monitor, c: Cpu): Emulation | undefined {
  const v = m.v;
  const cs = v.sysenterCs & 0xfffc;
  if (!cs) return undefined;
  return () => {
    c.setEflags(c.getEflags() & ~(VM | RF));
    v.vif = false; // SYSENTER clears IF: the guest's
    c.loadSegCache(CS, cs | 1, 0, -1, FLAT_CODE | (1 << AR_DPL_SHIFT));
    c.loadSegCache(SS, ((cs + 8) | 1) & 0xffff, 0, -1, FLAT_DATA | (1 << AR_DPL_SHIFT));
    c.setCpl(1, 'sysenter');
    c.r32[4] = v.sysenterEsp;
    c.eip = v.sysenterEip;
  };
}

/** The I/O permission bitmap of the guest's own TSS. */
function guestBitmapAllows(m: Monitor, port: number, size: number): boolean {
  const v = m.v;
  if (!(v.trSel & 0xfffc) || v.trLimit < 0x67) return false;
  const base = m.readGuest32((v.trBase + 0x64) >>> 0);
  if (base === undefined) return false;
  const map = base >>> 16;
  const first = map + (port >>> 3), last = map + ((port + size - 1) >>> 3);
  if (last + 1 > v.trLimit) return false;
  for (let p = port; p < port + size; p++) {
    const b = m.readGuest32((v.trBase + map + (p >>> 3)) >>> 0);
    if (b === undefined || (b >>> (p & 7)) & 1) return false;
  }
  return first <= last;
}

/** LTR against the guest's GDT: the processor's TR points at the shadow TSS. */
function ltr(m: Monitor, c: Cpu, sel: number): void {
  const v = m.v;
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) c.gp(0);
  if (sel & 4 || (sel | 7) > v.gdtLimit) c.gp(sel & 0xfffc);
  const at = (v.gdtBase + (sel & ~7)) >>> 0;
  const lo = m.readGuest32(at), hi = m.readGuest32((at + 4) >>> 0);
  if (lo === undefined || hi === undefined) c.gp(sel & 0xfffc);
  const type = (hi! >>> 8) & 0x1f;
  if (type !== 9 && type !== 1) c.gp(sel & 0xfffc);
  if (!(hi! & 0x8000)) c.fault(11, sel & 0xfffc, true);
  let limit = (lo! & 0xffff) | (hi! & 0xf0000);
  if (hi! & 0x800000) limit = ((limit << 12) | 0xfff) >>> 0;
  v.trSel = sel;
  v.trBase = ((lo! >>> 16) | ((hi! & 0xff) << 16) | (hi! & 0xff000000)) >>> 0;
  v.trLimit = limit;
  v.trType = type | 2;
  m.writeGuest((at + 5) >>> 0, 1, ((hi! >>> 8) & 0xff) | 2); // busy, in the guest's GDT as on hardware
  const [sl, sh] = m.window.readGdt(sel >>> 3);
  m.window.writeGdt(sel >>> 3, sl, sh | 0x200);
  c.trSel = sel;
  c.trBase = TSS_LIN | 0;
  c.trLimit = TSS_LIMIT;
  c.trAr = 0x8b;
  m.syncTss();
}
