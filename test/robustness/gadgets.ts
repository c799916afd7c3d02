// The attacks a hostile guest is made of. Each gadget is a few instructions of the opcode table with
// garbage operands; the generator strings them together (hostile.ts), each one first storing its
// number so the exception handler can resume at the next.
import { Asm, FORMS, randomInsn, type Form, EAX, ECX, EDX, EBX, ESP, ESI, EDI, EBP } from './encoder';
import type { Rng } from './rng';
import { L, R, SEL, KSTACK, USTACK, DEBUGCON } from './layout';
import { OpFlag } from '../../adapter/cpu/opcodes';

export type Style = 'gadgets' | 'insns' | 'bytes';

export interface World {
  code32: boolean;
  /** Where the 32-bit block is (0 for 16-bit guests). */
  base: number;
  ring: 0 | 3;
  paging: 'off' | '4k' | 'pse' | 'pae';
  style: Style;
  ramBytes: number;
  /** Addresses worth hitting: the guest's own tables, code, stacks, device memory, the ends of RAM. */
  addresses: readonly number[];
}

/** The forms random instructions are drawn from: system instructions weigh most, x87/SIMD least. */
const POOL: readonly (readonly [number, Form])[] = FORMS.map((f) => {
  const e = f.entry;
  const w = e.handler === 'x87' || e.handler === 'simd' ? 1 : e.cls !== 0 || e.flags & OpFlag.Cpl0 ? 40 : 8;
  return [w, f] as const;
});

const MSRS = [0x10, 0x1b, 0x3a, 0x8b, 0xfe, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x186, 0x1a0, 0x1d9, 0x200, 0x201, 0x277, 0x2ff,
  0x480, 0x481, 0x482, 0x48b, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000100, 0xc0000101, 0xc0000102, 0x40000000, 0x4b564d00];
const PORTS = [0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x60, 0x64, 0x61, 0x70, 0x71, 0x80, 0xe9, 0x3f8, 0x3f9, 0x3fa, 0x3fb,
  0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x3c0, 0x3c4, 0x3c5, 0x3ce, 0x3cf, 0x3d4, 0x3d5, 0x3da, 0x4d0, 0x4d1, 0xcf8, 0xcfc, 0x402, 0x510, 0x8900, 0x2f8, 0x1f0, 0x3f6];
const CR4_BITS = [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200, 0x400, 0x2000, 0x4000, 0x10000, 0x100000];
const CR0_BITS = [0x1, 0x2, 0x4, 0x8, 0x20, 0x10000, 0x40000, 0x20000000, 0x40000000, 0x80000000 | 0];

/** Small helpers over an assembler, for 32- and 16-bit code alike. */
class G {
  constructor(readonly a: Asm, readonly rng: Rng, readonly w: World) {}
  get o32(): number[] { return this.a.code32 ? [] : [0x66]; }
  at(off: number): number { return this.w.code32 ? this.w.base + off : off; }
  scratch(off = 0): number { return this.w.code32 ? this.w.base + L.SCRATCH + off : R.SCRATCH + off; }
  /** A register gets a full 32-bit value. */
  ld(r: number, v: number): void { this.a.ins('mov', `${['eAX', 'eCX', 'eDX', 'eBX', 'eSP', 'eBP', 'eSI', 'eDI'][r]},Iv`, { imm: [v] }, this.o32); }
  st32(addr: number, v: number): void { this.a.ins('mov', 'Ev,Iz', { rm: { abs: addr }, imm: [v] }, this.o32); }
  st16(addr: number, v: number): void { this.a.ins('mov', 'Ev,Iz', { rm: { abs: addr }, imm: [v] }, this.a.code32 ? [0x66] : []); }
  out(port: number, v: number): void {
    if (port < 0x100) { this.a.outByte(port, v); return; }
    this.a.ins('mov', 'eDX,Iv', { imm: [port] });
    this.a.ins('mov', 'AL,Ib', { imm: [v] });
    this.a.ins('out', 'DX,AL');
  }
  /** Print AL on the debug console. */
  printAl(): void { this.a.outImm(DEBUGCON); }
  addr(): number {
    const r = this.rng;
    const a = r.chance(0.85) ? r.pick(this.w.addresses) + r.below(32) - 8 : r.u32();
    return this.w.code32 ? a | 0 : a & 0xffff;
  }
  val(): number { return this.rng.chance(0.3) ? this.addr() : this.rng.value(); }
  /** An instruction whose far pointer or frame should lead to the next instruction: patch it in after. */
  here(): number { return this.a.here; }
  patch32(pos: number, v: number): void { for (let k = 0; k < 4; k++) this.a.bytes[pos + k] = (v >>> (8 * k)) & 0xff; }
  patch16(pos: number, v: number): void { for (let k = 0; k < 2; k++) this.a.bytes[pos + k] = (v >>> (8 * k)) & 0xff; }
}

type Kind = (g: G) => void;

// ------------------------------------------------------------------ the attacks

const randomInsns: Kind = (g) => {
  const { rng } = g;
  for (let k = rng.below(3); k > 0; k--) g.ld(rng.pick([EAX, ECX, EDX, EBX, EBP, ESI, EDI]), g.val());
  for (let k = 1 + rng.below(4); k > 0; k--) randomInsn(g.a, rng, rng.weighted(POOL), g.w.addresses);
};

const crWrite: Kind = (g) => {
  const { a, rng } = g;
  const n = rng.weighted([[5, 0], [4, 3], [5, 4], [1, 2], [1, rng.pick([1, 5, 6, 7, 8])]]);
  if (rng.chance(0.5) && n !== 1 && n < 5) {
    // Flip some bits of what is there: paging on or off under the guest's feet, PAE, WP, CD/NW...
    a.ins('mov', 'Rd,Cd', { reg: n, rm: EAX });
    let mask = 0;
    for (let k = 1 + rng.below(2); k > 0; k--) mask |= n === 0 ? rng.pick(CR0_BITS) : n === 4 ? rng.pick(CR4_BITS) : rng.value();
    a.ins('xor', 'eAX,Iz', { imm: [mask] }, g.o32);
  } else {
    const v = n === 0 ? (0x11 | (rng.chance(0.5) ? 0x80000000 : 0)) ^ rng.pick(CR0_BITS)
      : n === 3 ? rng.pick([g.at(L.PD), g.at(L.PDPT), g.at(L.PAE_PD), g.at(L.SCRATCH), rng.below(g.w.ramBytes) & ~0xfff, rng.u32()])
      : n === 4 ? CR4_BITS.filter(() => rng.chance(0.25)).reduce((x, y) => x | y, 0) : rng.value();
    g.ld(EAX, v);
  }
  a.ins('mov', 'Cd,Rd', { reg: n, rm: EAX });
};

const crRead: Kind = (g) => {
  const { a, rng } = g;
  a.ins('mov', 'Rd,Cd', { reg: rng.pick([0, 0, 2, 3, 4]), rm: EAX });
  g.printAl();
  a.ins('shr', 'Ev,Ib', { rm: EAX, imm: [rng.pick([8, 16, 24])] }, g.o32);
  g.printAl();
};

const debugRegs: Kind = (g) => {
  const { a, rng } = g;
  const n = rng.pick([0, 1, 2, 3, 6, 7, 7, 4, 5]);
  g.ld(EAX, n < 4 ? g.addr() : n === 7 ? rng.below(0x10000) | (rng.below(0x10000) << 16) : rng.value());
  if (rng.chance(0.8)) a.ins('mov', 'Dd,Rd', { reg: n, rm: EAX });
  else { a.ins('mov', 'Rd,Dd', { reg: n, rm: EAX }); g.printAl(); }
};

const descTables: Kind = (g) => {
  const { a, rng } = g;
  const s = g.scratch(0x40 + 8 * rng.below(4));
  switch (rng.below(7)) {
    case 0: case 1: {
      // LGDT/LIDT with a garbage limit and base.
      g.st32(s, (rng.pick([0, 7, 0xf, 0x7f, 0xffff, rng.below(0x10000)]) & 0xffff) | (rng.value() << 16));
      g.st32(s + 4, rng.chance(0.5) ? g.addr() >>> 16 : rng.value());
      a.ins(rng.chance(0.5) ? 'lgdt' : 'lidt', 'Ms', { rm: { abs: s } }, rng.chance(0.2) ? [0x66] : []);
      break;
    }
    case 2:
      a.ins(rng.chance(0.5) ? 'sgdt' : 'sidt', 'Ms', { rm: { abs: s } });
      a.ins('mov', 'AL,Ob', { imm: [s + rng.below(6)] });
      g.printAl();
      break;
    case 3:
      g.ld(EAX, g.rng.selector());
      a.ins(rng.chance(0.5) ? 'lldt' : 'ltr', 'Ew', { rm: EAX });
      break;
    case 4:
      a.ins(rng.pick(['sldt', 'str']), 'Ev', { rm: EAX });
      g.printAl();
      break;
    case 5: {
      // Scribble over a live GDT or IDT entry.
      const table = g.w.code32 ? (rng.chance(0.5) ? g.at(L.GDT) : g.at(L.IDT) + 8 * rng.below(256)) : 4 * rng.below(256);
      g.st32(table + 8 * (g.w.code32 ? rng.below(16) : 0) + rng.pick([0, 4]), rng.value());
      break;
    }
    default:
      if (rng.chance(0.5)) a.ins('smsw', 'Ev', { rm: EAX }); else { g.ld(EAX, rng.value()); a.ins('lmsw', 'Ew', { rm: EAX }); }
      g.printAl();
  }
};

const msrs: Kind = (g) => {
  const { a, rng } = g;
  g.ld(ECX, rng.chance(0.85) ? rng.pick(MSRS) : rng.value());
  if (rng.chance(0.6)) {
    g.ld(EAX, g.val()); g.ld(EDX, rng.chance(0.5) ? 0 : rng.value());
    a.ins('wrmsr');
  } else {
    a.ins('rdmsr');
    g.printAl();
  }
};

const io: Kind = (g) => {
  const { a, rng } = g;
  const port = rng.chance(0.85) ? rng.pick(PORTS) : rng.below(0x10000);
  g.ld(EDX, port);
  switch (rng.below(5)) {
    case 0: case 1:
      g.ld(EAX, rng.value());
      a.ins('out', rng.chance(0.6) ? 'DX,AL' : 'DX,eAX', {}, rng.chance(0.3) ? [0x66] : []);
      break;
    case 2:
      a.ins('in', rng.chance(0.6) ? 'AL,DX' : 'eAX,DX', {}, rng.chance(0.3) ? [0x66] : []);
      g.printAl();
      break;
    default: {
      // String I/O with a count and a buffer from the list of targets.
      g.ld(ECX, rng.chance(0.8) ? rng.below(40) : rng.value());
      g.ld(rng.chance(0.5) ? ESI : EDI, g.addr());
      if (rng.chance(0.3)) a.ins('std');
      const pfx = rng.chance(0.7) ? [0xf3] : [];
      const [mn, ops] = rng.pick([['insb', 'Yb,DX'], ['insd', 'Yv,DX'], ['outsb', 'DX,Xb'], ['outsd', 'DX,Xv']] as const);
      a.ins(mn, ops, {}, pfx);
      a.ins('cld');
    }
  }
};

const softInt: Kind = (g) => {
  const { a, rng } = g;
  switch (rng.below(6)) {
    case 0: a.ins('int3'); break;
    case 1: a.ins('int1'); break;
    case 2: a.ins('mov', 'AL,Ib', { imm: [0x7f] }); a.ins('add', 'AL,Ib', { imm: [1] }); a.ins('into'); break;
    default: {
      if (!g.w.code32) {
        // A BIOS service with garbage registers (buffers somewhere in the first 64 KiB).
        g.ld(EAX, rng.value()); g.ld(EBX, g.addr()); g.ld(ECX, rng.value()); g.ld(EDX, rng.value());
      }
      const v = rng.weighted([[4, rng.below(32)], [3, rng.below(256)], [2, 0x80], [2, 0x10 + rng.below(11)]]);
      a.ins('int', 'Ib', { imm: [v] });
    }
  }
};

const iret: Kind = (g) => {
  const { a, rng, w } = g;
  const o32 = w.code32 ? !rng.chance(0.15) : rng.chance(0.15);
  const pfx = o32 === w.code32 ? [] : [0x66];
  const push = (v: number) => a.ins('push', 'Iz', { imm: [v] }, pfx);
  let flags = 0x2 | (rng.chance(0.3) ? 0x200 : 0) | (rng.chance(0.2) ? 0x3000 : 0);
  if (rng.chance(0.15)) flags |= 0x20000; // VM: to virtual-8086 mode
  if (rng.chance(0.1)) flags |= 0x100; // TF
  if (rng.chance(0.1)) flags |= 0x4000; // NT (only IRET's own EFLAGS matter for the task return)
  if (rng.chance(0.1)) flags = rng.value();
  const outer = w.code32 && (flags & 0x20000 || rng.chance(0.4));
  if (flags & 0x20000) for (let k = 0; k < 4; k++) push(rng.chance(0.5) ? 0 : rng.below(0x10000));
  if (outer) { push(rng.pick([SEL.DATA3, SEL.DATA0, rng.selector(), 0])); push(rng.pick([USTACK, KSTACK, rng.value()])); }
  push(flags);
  push(w.code32 ? rng.pick([SEL.CODE0, SEL.CODE3, SEL.CODE16, SEL.CONFORMING, rng.selector()]) : rng.chance(0.7) ? 0 : rng.below(0x10000));
  a.ins('push', 'Iz', { imm: [0] }, pfx);
  const at = a.bytes.length - (o32 ? 4 : 2);
  if (rng.chance(0.2)) {
    // NT set in the running EFLAGS: IRET becomes a return to the task in the TSS back link.
    a.ins('push', 'Iz', { imm: [0x4002] });
    a.ins('popf');
  }
  a.ins('iret', '', {}, pfx);
  const next = rng.chance(0.8) ? a.here : rng.value();
  if (o32) g.patch32(at, next); else g.patch16(at, next);
};

const farTransfer: Kind = (g) => {
  const { a, rng, w } = g;
  const sel = w.code32 ? rng.weighted([[3, SEL.CODE0], [3, SEL.CODE3], [2, SEL.CODE16], [2, SEL.GATE], [2, SEL.TSS_B], [1, SEL.TASK_GATE],
    [1, SEL.CONFORMING], [2, rng.selector()]]) : rng.chance(0.6) ? 0 : rng.below(0x10000);
  const size = w.code32 ? 4 : 2;
  switch (rng.below(4)) {
    case 0: case 1: {
      const mn = rng.chance(0.6) ? 'jmp' : 'call';
      a.ins(mn, 'Ap', { imm: [0, sel] });
      const at = a.bytes.length - 2 - size;
      const next = rng.chance(0.8) ? a.here : rng.value();
      if (size === 4) g.patch32(at, next); else g.patch16(at, next);
      break;
    }
    case 2: {
      const s = g.scratch(0x80);
      g.st16(s + size, sel);
      a.ins('mov', 'Ev,Iz', { rm: { abs: s }, imm: [0] });
      const at = a.bytes.length - size;
      a.ins(rng.chance(0.5) ? 'jmp' : 'call', 'Mp', { rm: { abs: s } });
      const next = a.here;
      if (size === 4) g.patch32(at, next); else g.patch16(at, next);
      break;
    }
    default: {
      a.ins('push', 'Iz', { imm: [sel] });
      a.ins('push', 'Iz', { imm: [0] });
      const at = a.bytes.length - size;
      if (rng.chance(0.5)) a.ins('retf'); else a.ins('retf', 'Iw', { imm: [rng.below(16) * 4] });
      if (size === 4) g.patch32(at, a.here); else g.patch16(at, a.here);
    }
  }
};

const taskSwitch: Kind = (g) => {
  const { a, rng } = g;
  const tss = g.at(L.TSS_B);
  // Garbage in the incoming task's state first: EIP, CR3, EFLAGS (VM!), selectors, LDT.
  for (let k = rng.below(3); k > 0; k--) {
    const off = rng.pick([0x1c, 0x20, 0x24, 0x38, 0x48, 0x4c, 0x50, 0x54, 0x60, 0x64]);
    g.st32(tss + off, off === 0x24 ? 0x2 | (rng.chance(0.5) ? 0x20000 : 0) | (rng.value() & 0x4fd5) : off === 0x1c ? rng.pick([g.at(L.PD), rng.u32()]) : rng.chance(0.5) ? rng.selector() : rng.value());
  }
  if (rng.chance(0.3)) g.st32(g.at(L.GDT) + 0x30 + 4, (rng.chance(0.5) ? 0x00008b00 : 0x00008900) | (tss >>> 16 & 0xff) | (tss & 0xff000000)); // busy or free
  switch (rng.below(4)) {
    case 0: a.ins('jmp', 'Ap', { imm: [0, rng.pick([SEL.TSS_B, SEL.TASK_GATE, SEL.TSS_A])] }); break;
    case 1: a.ins('call', 'Ap', { imm: [0, rng.pick([SEL.TSS_B, SEL.TASK_GATE])] }); break;
    case 2: a.ins('int', 'Ib', { imm: [8] }); break;
    default: g.ld(EAX, rng.pick([SEL.TSS_A, SEL.TSS_B, rng.selector()])); a.ins('ltr', 'Ew', { rm: EAX });
  }
};

const vmx: Kind = (g) => {
  const { a, rng } = g;
  const s = g.scratch(0x100 + 0x40 * rng.below(4));
  switch (rng.below(6)) {
    case 0: case 1: case 2:
      g.ld(EAX, rng.weighted([[5, rng.below(16)], [2, 0x40000000 + rng.below(8)], [2, rng.value()]]));
      for (const r of [EBX, ECX, EDX, ESI]) if (rng.chance(0.6)) g.ld(r, g.val());
      a.ins('vmcall');
      g.printAl();
      break;
    case 3: a.ins(rng.pick(['vmxon', 'vmptrld', 'vmclear', 'vmptrst']), 'M', { rm: { abs: rng.chance(0.7) ? s : g.addr() } }); break;
    case 4: a.ins(rng.pick(['vmlaunch', 'vmresume', 'vmxoff'])); break;
    default:
      g.ld(EAX, rng.value()); g.ld(ECX, rng.value());
      if (rng.chance(0.5)) a.ins('vmread', 'Ed,Gd', { reg: EAX, rm: ECX }); else a.ins('vmwrite', 'Gd,Ed', { reg: EAX, rm: ECX });
  }
};

const selfModify: Kind = (g) => {
  const { a, rng } = g;
  const target = rng.weighted([[4, a.here + 10 + rng.below(48)], [2, a.here + rng.below(0x400)], [1, g.w.code32 ? g.at(L.STUBS) + rng.below(0x1000) : R.BOOT + rng.below(0x100)],
    [1, g.w.code32 ? g.at(L.HANDLER) + rng.below(0x40) : R.BODY + rng.below(0x100)], [1, g.addr()]]);
  if (rng.chance(0.6)) {
    if (rng.chance(0.5)) g.st32(target, rng.value());
    else a.ins('mov', 'Eb,Ib', { rm: { abs: target }, imm: [rng.pick([0xcc, 0x90, 0xf4, 0x0f, 0xcd, 0xeb, 0xfe, rng.below(256)])] });
  } else {
    g.ld(EDI, target); g.ld(ECX, 1 + rng.below(24));
    a.ins('mov', 'AL,Ib', { imm: [rng.below(256)] });
    a.ins('stosb', 'Yb,AL', {}, [0xf3]);
  }
};

const pageTables: Kind = (g) => {
  const { a, rng, w } = g;
  const pte = () => {
    const frame = rng.weighted([[4, rng.below(w.ramBytes) & ~0xfff], [2, g.at(rng.pick([L.PD, L.PT0, L.PT1, L.BODY, L.HANDLER, L.STUBS]))], [1, rng.u32() & ~0xfff]]);
    return frame | (rng.chance(0.9) ? 1 : 0) | (rng.below(0x200) & ~1);
  };
  if (w.paging === 'pae') {
    const e = g.at(L.PAE_PD) + 8 * rng.pick([0, 1, 2, 3, rng.below(512)]);
    g.st32(e, pte() | (rng.chance(0.5) ? 0x80 : 0));
    if (rng.chance(0.4)) g.st32(e + 4, rng.pick([0, 0x80000000 | 0, 1 << rng.below(32)]));
    if (rng.chance(0.2)) g.st32(g.at(L.PDPT) + 8 * rng.below(4), pte() & ~0x1e6);
  } else if (rng.chance(0.5)) {
    g.st32(g.at(L.PD) + 4 * rng.pick([0, 1, 2, 1023, rng.below(1024)]), pte() | (rng.chance(w.paging === 'pse' ? 0.6 : 0.2) ? 0x80 : 0));
  } else {
    // Entries that map the running code, the handler, the stack, the tables themselves.
    const lin = rng.pick([a.here, g.at(L.HANDLER), g.at(L.STUBS), KSTACK - 4, USTACK - 4, g.at(L.PT0), g.at(L.IDT), g.at(L.GDT), rng.below(w.ramBytes)]);
    g.st32(g.at(L.PT0) + 4 * ((lin >>> 12) & 0x7ff), pte());
  }
  if (rng.chance(0.4)) a.ins('invlpg', 'M', { rm: { abs: g.addr() } });
  else if (rng.chance(0.4)) { a.ins('mov', 'Rd,Cd', { reg: 3, rm: EAX }); a.ins('mov', 'Cd,Rd', { reg: 3, rm: EAX }); }
};

const stack: Kind = (g) => {
  const { a, rng, w } = g;
  g.ld(ESP, rng.weighted([[3, g.addr()], [2, rng.value()], [1, 0], [1, 3]]));
  for (let k = rng.below(4); k > 0; k--) {
    const f = rng.pick<[string, string]>([['push', 'Iz'], ['pop', 'eAX'], ['pusha', ''], ['popa', ''], ['call', 'Jz'], ['ret', ''], ['enter', 'Iw,Ib'], ['leave', ''], ['pushf', '']]);
    a.ins(f[0], f[1], { imm: [f[0] === 'call' ? 0 : rng.value() & 0xffff, rng.below(4)] });
  }
  if (w.code32 && rng.chance(0.3)) {
    const s = g.scratch(0x90);
    g.st32(s, rng.value()); g.st16(s + 4, rng.selector());
    a.ins('lss', 'Gv,Mp', { reg: ESP, rm: { abs: s } });
  }
  if (rng.chance(0.6)) g.ld(ESP, w.code32 ? (w.ring === 3 ? USTACK : KSTACK) : R.STACK);
};

const segments: Kind = (g) => {
  const { a, rng, w } = g;
  const sel = w.code32 ? rng.selector() : rng.chance(0.5) ? 0 : rng.below(0x10000);
  g.ld(ECX, sel);
  switch (rng.below(4)) {
    case 0: case 1: a.movSreg(rng.pick([0, 2, 3, 3, 4, 5]), ECX); break;
    case 2: {
      const [mn, ops] = rng.pick([['lar', 'Gv,Ew'], ['lsl', 'Gv,Ew'], ['verr', 'Ew'], ['verw', 'Ew']] as const);
      if (ops === 'Ew') a.ins(mn, ops, { rm: ECX }); else a.ins(mn, ops, { reg: EAX, rm: ECX });
      a.ins('setz', 'Eb', { rm: EDX });
      a.ins('mov', 'Gb,Eb', { reg: EAX, rm: EDX });
      g.printAl();
      break;
    }
    default:
      a.ins('push', 'eCX');
      a.ins('pop', rng.pick(['ds', 'es', 'ss', 'fs', 'gs']));
  }
};

const print: Kind = (g) => {
  const { a, rng } = g;
  if (rng.chance(0.5)) {
    a.ins('mov', 'Gv,Ev', { reg: EAX, rm: rng.pick([EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI]) }, g.o32);
    g.printAl();
    a.ins('shr', 'Ev,Ib', { rm: EAX, imm: [8] }, g.o32);
    g.printAl();
  } else if (rng.chance(0.5)) {
    a.ins('pushf'); a.ins('pop', 'eAX'); g.printAl(); // the arithmetic flags the last gadget left
  } else {
    // A byte through COM1 (the other console).
    g.ld(EDX, 0x3f8);
    a.ins('mov', 'AL,Ib', { imm: [0x61 + rng.below(26)] });
    a.ins('out', 'DX,AL');
  }
};

const randomBytes: Kind = (g) => {
  const { a, rng } = g;
  for (let k = 1 + rng.below(24); k > 0; k--) a.raw(rng.below(256));
};

const flags: Kind = (g) => {
  const { a, rng } = g;
  switch (rng.below(5)) {
    case 0: case 1:
      a.ins('push', 'Iz', { imm: [rng.chance(0.5) ? rng.value() : 0x2 | (rng.below(2) << 8) | (rng.below(2) << 9) | (rng.below(4) << 12) | (rng.below(2) << 14) | (rng.below(2) << 18)] });
      a.ins('popf', '', {}, rng.chance(0.2) ? [0x66] : []);
      break;
    case 2: a.ins(rng.pick(['cli', 'sti', 'cld', 'std', 'clts'])); break;
    case 3: a.ins('pushf'); a.ins('pop', 'eAX'); g.printAl(); break;
    default: a.ins('hlt');
  }
};

const sysenter: Kind = (g) => {
  const { a, rng } = g;
  for (const m of [0x174, 0x175, 0x176]) if (rng.chance(0.5)) { g.ld(ECX, m); g.ld(EAX, m === 0x174 ? rng.selector() : g.val()); g.ld(EDX, 0); a.ins('wrmsr'); }
  g.ld(ECX, g.val()); g.ld(EDX, g.val());
  a.ins(rng.chance(0.5) ? 'sysenter' : 'sysexit');
};

const cpuid: Kind = (g) => {
  const { a, rng } = g;
  const which = rng.below(3);
  if (which === 0) {
    g.ld(EAX, rng.pick([0, 1, 2, 4, 7, 0xb, 0xd, 0x80000000, 0x80000001, 0x80000008, 0x40000000, rng.value()]));
    g.ld(ECX, rng.below(4));
    a.ins('cpuid');
    for (const r of [EAX, EBX, ECX, EDX]) { a.ins('mov', 'Gv,Ev', { reg: EAX, rm: r }, g.o32); g.printAl(); }
  } else {
    if (which === 2) g.ld(ECX, rng.below(4));
    a.ins(which === 1 ? 'rdtsc' : 'rdpmc');
    g.printAl();
  }
};

const devices: Kind = (g) => {
  const { rng } = g;
  switch (rng.below(7)) {
    case 0: { // PIT channel 0 (or 2) in a random mode with a short period
      const ch = rng.chance(0.8) ? 0 : 2;
      const div = rng.chance(0.3) ? rng.below(0x10000) : 200 + rng.below(5000);
      g.out(0x43, (ch << 6) | 0x30 | (rng.below(6) << 1)); g.out(0x40 + ch, div & 0xff); g.out(0x40 + ch, div >> 8);
      break;
    }
    case 1: // unmask (or mask) the PIC lines, acknowledge
      g.out(rng.pick([0x21, 0xa1]), rng.below(256)); g.out(rng.pick([0x20, 0xa0]), rng.pick([0x20, 0x60 + rng.below(8), 0x0b, 0x0a]));
      break;
    case 2: // remap the PIC anywhere
      g.out(0x20, 0x11); g.out(0x21, rng.below(256) & 0xf8); g.out(0x21, 4); g.out(0x21, rng.pick([1, 3]));
      break;
    case 3: // COM1: interrupts, loopback, divisor
      g.out(0x3f8 + rng.pick([1, 3, 4, 2]), rng.below(256));
      g.out(0x3f8, 0x41 + rng.below(26));
      break;
    case 4: // CMOS: periodic/alarm/update interrupts, garbage registers
      g.out(0x70, rng.pick([0x0a, 0x0b, 0x0c, 0x8b, rng.below(256)])); g.out(0x71, rng.below(256));
      break;
    case 5: // keyboard controller, A20 (a reset only now and then)
      if (rng.chance(0.1)) g.out(0x64, 0xfe);
      else { g.out(0x64, rng.pick([0xd1, 0xad, 0xae, 0x20, 0x60, 0xa7, 0xd4])); g.out(0x60, rng.below(256)); }
      break;
    default:
      g.out(0x92, rng.below(256) & (rng.chance(0.1) ? 0xff : 0xfe));
  }
};

const runaway: Kind = (g) => {
  if (g.rng.chance(0.5)) g.a.raw(0xeb, 0xfe); // jmp $
  else g.a.ins('hlt');
};

const KINDS32: readonly (readonly [number, Kind])[] = [
  [20, randomInsns], [6, crWrite], [3, crRead], [2, debugRegs], [6, descTables], [4, msrs], [6, io], [5, softInt], [4, iret],
  [5, farTransfer], [3, taskSwitch], [4, vmx], [4, selfModify], [5, pageTables], [3, stack], [4, segments], [5, print],
  [3, randomBytes], [3, flags], [2, sysenter], [3, cpuid], [3, devices], [0.3, runaway],
];
const KINDS16: readonly (readonly [number, Kind])[] = [
  [20, randomInsns], [3, crWrite], [2, crRead], [3, descTables], [2, msrs], [6, io], [8, softInt], [3, iret], [3, farTransfer],
  [3, vmx], [4, selfModify], [2, stack], [3, segments], [5, print], [3, randomBytes], [3, flags], [2, cpuid], [3, devices],
  [0.3, runaway],
];

function gadget(a: Asm, rng: Rng, w: World, kinds: readonly (readonly [number, Kind])[]): void {
  const g = new G(a, rng, w);
  if (w.style === 'bytes') { randomBytes(g); return; }
  if (w.style === 'insns') { if (rng.chance(0.15)) print(g); else randomInsns(g); return; }
  rng.weighted(kinds)(g);
}

export function gadget32(a: Asm, rng: Rng, w: World, _k: number): void {
  gadget(a, rng, w, w.paging === 'off' ? KINDS32.map(([wt, k]) => [k === pageTables ? 1 : wt, k] as const) : KINDS32);
}

export function gadget16(a: Asm, rng: Rng, w: World, _k: number): void {
  gadget(a, rng, w, KINDS16);
}

