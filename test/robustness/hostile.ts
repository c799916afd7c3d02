// Hostile guests, generated from a seed: a short boot prologue that sets up a world (real mode; or
// protected mode with flat segments, a TSS, an IDT whose handlers resume at the next gadget, and
// optionally paging and ring 3), then a body of gadgets that attack it: random instructions of the
// opcode table, privileged and system instructions with garbage operands, writes over the guest's
// own code, descriptor tables and page tables, stack garbage, task switches, VMX instructions,
// device programming, plain random bytes. Every exception lands in a stub that prints its vector on
// port 0xE9 and resumes at the next gadget, so one guest exercises many attacks; when the guest
// wrecks its own IDT it triple-faults, which is one of the outcomes the runner expects.
import { Asm, EAX, ECX, EBX, ESP } from './encoder';
import { Rng } from './rng';
import { L, R, SEL, KSTACK, USTACK, MAX_GADGETS, EXIT_PORT, DEBUGCON } from './layout';
import { gadget32, gadget16, type World, type Style } from './gadgets';

export type Entry = 'flat' | 'real' | 'real-pm';
export type Paging = 'off' | '4k' | 'pse' | 'pae';

export interface Shape {
  entry: Entry;
  paging: Paging;
  ring: 0 | 3;
  /** PIT programmed and IRQ 0 unmasked, interrupts on. */
  timer: boolean;
  style: Style;
  gadgets: number;
  ramMiB: number;
}

export interface HostileGuest {
  seed: number;
  shape: Shape;
  format: 'flat' | 'floppy';
  image: Uint8Array;
  /** Flat guests: where the image goes (and the entry point). */
  loadAddress: number;
}

export function describe(g: HostileGuest): string {
  const s = g.shape;
  return `seed ${g.seed}: ${s.entry}${s.entry === 'real' ? '' : `, paging ${s.paging}, ring ${s.ring}`}${s.timer ? ', timer' : ''}, ${s.gadgets} ${s.style} gadgets, ${s.ramMiB} MiB`;
}

/** A shape drawn from the seed (overrides pin parts of it, for regression cases). */
export function drawShape(rng: Rng, over: Partial<Shape> = {}): Shape {
  const entry = over.entry ?? rng.weighted<Entry>([[6, 'flat'], [2, 'real'], [2, 'real-pm']]);
  return {
    entry,
    paging: over.paging ?? (entry === 'real' ? 'off' : rng.weighted<Paging>([[3, 'off'], [3, '4k'], [3, 'pse'], [1, 'pae']])),
    ring: over.ring ?? (entry !== 'real' && rng.chance(0.35) ? 3 : 0),
    timer: over.timer ?? rng.chance(0.3),
    style: over.style ?? rng.weighted<Style>([[7, 'gadgets'], [2, 'insns'], [1, 'bytes']]),
    gadgets: over.gadgets ?? 8 + rng.below(entry === 'real' ? 40 : 60),
    ramMiB: over.ramMiB ?? rng.pick([2, 3, 4, 4, 8, 16]),
  };
}

export function generate(seed: number, over: Partial<Shape> = {}): HostileGuest {
  const rng = new Rng(seed);
  const shape = drawShape(rng, over);
  if (shape.entry === 'real') return { seed, shape, format: 'floppy', image: realGuest(rng, shape), loadAddress: 0 };
  const base = shape.entry === 'flat' ? 0x100000 : 0x10000;
  const block = protectedBlock(rng, shape, base);
  if (shape.entry === 'flat') return { seed, shape, format: 'flat', image: block, loadAddress: base };
  const boot = bootToProtected(base, block.length);
  const image = new Uint8Array(512 + block.length);
  image.set(boot);
  image.set(block, 512);
  return { seed, shape, format: 'floppy', image, loadAddress: 0 };
}

// ------------------------------------------------------------------ 32-bit world

function desc(base: number, limit: number, access: number, flags: number): number[] {
  return [limit & 0xff, (limit >>> 8) & 0xff, base & 0xff, (base >>> 8) & 0xff, (base >>> 16) & 0xff, access,
    ((flags & 0xf) << 4) | ((limit >>> 16) & 0xf), (base >>> 24) & 0xff];
}
function gate(sel: number, off: number, access: number, params = 0): number[] {
  return [off & 0xff, (off >>> 8) & 0xff, sel & 0xff, sel >>> 8, params, access, (off >>> 16) & 0xff, (off >>> 24) & 0xff];
}
function put32(img: Uint8Array, at: number, v: number): void {
  img[at] = v & 0xff; img[at + 1] = (v >>> 8) & 0xff; img[at + 2] = (v >>> 16) & 0xff; img[at + 3] = (v >>> 24) & 0xff;
}

/** Vectors whose stub acknowledges the PIC and returns (the remapped IRQs). */
const IRQ_BASE = 0x20;

function protectedBlock(rng: Rng, shape: Shape, base: number): Uint8Array {
  const img = new Uint8Array(L.END);
  const at = (off: number) => base + off;
  const n = Math.min(shape.gadgets, MAX_GADGETS);
  const exitStatus = rng.below(0x40);
  const userFlags = 0x2 | (shape.timer ? 0x200 : 0) | (rng.chance(0.5) ? 0x3000 : 0);

  // GDT (entries 14 and 15 are garbage on purpose).
  const gdt: number[] = [
    ...desc(0, 0, 0, 0),
    ...desc(0, 0xfffff, 0x9a, 0xc), ...desc(0, 0xfffff, 0x92, 0xc),
    ...desc(0, 0xfffff, 0xfa, 0xc), ...desc(0, 0xfffff, 0xf2, 0xc),
    ...desc(at(L.TSS_A), 0x67 + (rng.chance(0.3) ? 0x20 : 0), 0x89, 0), ...desc(at(L.TSS_B), 0x67, 0x89, 0),
    ...gate(SEL.CODE0, at(L.HANDLER) + 0x200, 0xec, 0), // call gate, DPL 3 (0x38)
    ...desc(0, 0xffff, 0x9a, 0), ...desc(0, 0xffff, 0x92, 0),
    ...gate(SEL.TSS_B, 0, 0xe5), // task gate (0x50)
    ...desc(at(L.SCRATCH), 0x3f, 0x82, 0), // LDT full of scratch garbage (0x58)
    ...desc(0, 0xfffff, 0x9e, 0xc), ...desc(0x1000, 0x10, 0x96, 0x4),
  ];
  for (let k = 0; k < 16; k++) gdt.push(rng.below(256));
  img.set(gdt, L.GDT);
  img.set([(gdt.length - 1) & 0xff, (gdt.length - 1) >> 8], L.GDTR);
  put32(img, L.GDTR + 2, at(L.GDT));
  img.set([0xff, 0x07], L.IDTR);
  put32(img, L.IDTR + 2, at(L.IDT));

  // Page tables: identity maps of the low 8 MiB (past RAM on small guests: those pages are MMIO).
  const root = shape.paging === 'pae' ? at(L.PDPT) : at(L.PD);
  if (shape.paging === '4k') {
    put32(img, L.PD, at(L.PT0) | 7); put32(img, L.PD + 4, at(L.PT1) | 7);
    for (let k = 0; k < 2048; k++) put32(img, L.PT0 + 4 * k, (k << 12) | 7 | (rng.chance(0.02) ? 0x100 : 0));
    if (rng.chance(0.3)) put32(img, L.PD + 4 * 1023, at(L.PD) | 3); // a self-map
  } else if (shape.paging === 'pse') {
    put32(img, L.PD, 0x87); put32(img, L.PD + 4, (1 << 22) | 0x87);
    if (rng.chance(0.3)) put32(img, L.PD + 4 * 1023, at(L.PD) | 3);
  } else if (shape.paging === 'pae') {
    put32(img, L.PDPT, at(L.PAE_PD) | 1);
    for (let k = 0; k < 4; k++) put32(img, L.PAE_PD + 8 * k, (k << 21) | 0x87);
  }

  // TSS A: the ring-0 stack; TSS B: a task that prints 'T' and resumes.
  put32(img, L.TSS_A + 4, KSTACK); put32(img, L.TSS_A + 8, SEL.DATA0);
  put32(img, L.TSS_A + 0x1c, root);
  img[L.TSS_A + 0x66] = 0x68; // I/O bitmap base: right after the TSS (inside the limit only when it was grown)
  put32(img, L.TSS_B + 0x1c, root);
  put32(img, L.TSS_B + 0x20, at(L.HANDLER) + 0x300);
  put32(img, L.TSS_B + 0x24, 0x2);
  put32(img, L.TSS_B + 0x38, KSTACK - 0x2000);
  for (const [off, sel] of [[0x48, SEL.DATA0], [0x4c, SEL.CODE0], [0x50, SEL.DATA0], [0x54, SEL.DATA0], [0x58, SEL.DATA0], [0x5c, SEL.DATA0]])
    put32(img, L.TSS_B + off, sel);
  for (let k = 0; k < 0x40; k++) img[L.SCRATCH + k] = rng.below(256);

  // IDT: every vector to its stub; mostly interrupt/trap gates, some user-callable, a few absent,
  // sometimes a task gate for the double fault.
  for (let v = 0; v < 256; v++) {
    const type = rng.weighted<number>([[10, 0x8e], [5, 0x8f], [3, 0xee], [2, 0xef], [1, 0x0e]]);
    img.set(gate(SEL.CODE0, at(L.STUBS) + 16 * v, v === 0x80 || v === 3 || v === 4 ? 0xee : type), L.IDT + 8 * v);
  }
  if (rng.chance(0.3)) img.set(gate(SEL.TSS_B, 0, 0x85), L.IDT + 8 * 8);

  // Stubs: the remapped IRQs acknowledge and return; every other vector prints its number and resumes.
  for (let v = 0; v < 256; v++) {
    const a = new Asm(at(L.STUBS) + 16 * v, true);
    if (shape.timer && v >= IRQ_BASE && v < IRQ_BASE + 16) {
      a.ins('push', 'eAX');
      a.ins('mov', 'AL,Ib', { imm: [0x20] });
      if (v >= IRQ_BASE + 8) a.outImm(0xa0);
      a.outImm(0x20);
      a.ins('pop', 'eAX');
      a.ins('iret');
    } else {
      a.outByte(DEBUGCON, v);
      a.ins('jmp', 'Jz', { imm: [at(L.HANDLER) - (a.here + 5)] });
    }
    img.set(a.finish(), L.STUBS + 16 * v);
  }

  // The handler: reset the data segments and stack, count the fault, resume at the next gadget.
  const h = new Asm(at(L.HANDLER), true);
  h.ins('mov', 'eAX,Iv', { imm: [SEL.DATA0] });
  for (const s of [0, 3, 2, 4, 5]) h.movSreg(s, EAX);
  h.movImm(ESP, KSTACK);
  h.ins('inc', 'Ev', { rm: { abs: at(L.FAULTS) } });
  h.ins('cmp', 'Ev,Iz', { rm: { abs: at(L.FAULTS) }, imm: [400] });
  h.jump('jnc', 'exit');
  h.label('resume');
  h.ins('mov', 'eAX,Ov', { imm: [at(L.CUR)] });
  h.ins('inc', 'eAX');
  h.ins('mov', 'Ov,eAX', { imm: [at(L.CUR)] });
  h.ins('cmp', 'eAX,Iz', { imm: [n] });
  h.jump('jnc', 'exit');
  h.ins('shl', 'Ev,Ib', { rm: EAX, imm: [2] });
  h.ins('mov', 'Gv,Ev', { reg: EAX, rm: { base: EAX, disp: at(L.TABLE) } });
  h.ins('pushf');
  h.ins('and', 'Ev,Iz', { rm: { base: ESP, disp: 0 }, imm: [~0x4100] }); // NT and TF off
  h.ins('popf');
  if (shape.ring === 3) {
    h.ins('push', 'Iz', { imm: [SEL.DATA3] });
    h.ins('push', 'Iz', { imm: [USTACK] });
    h.ins('push', 'Iz', { imm: [userFlags] });
    h.ins('push', 'Iz', { imm: [SEL.CODE3] });
    h.ins('push', 'eAX');
    h.ins('iret');
  } else {
    if (shape.timer) h.ins('sti');
    h.ins('jmp', 'Ev', { rm: EAX });
  }
  h.label('exit');
  h.outByte(DEBUGCON, 0x5a); // 'Z'
  h.outByte(EXIT_PORT, exitStatus);
  h.ins('cli');
  h.ins('hlt');
  h.jump('jmp', 'exit');
  const handler = h.finish();
  img.set(handler, L.HANDLER);
  const resume = h.addr('resume');

  // The call gate's target (+0x200) and task B's code (+0x300): say so, then resume.
  for (const [off, ch] of [[0x200, 0x47], [0x300, 0x54]] as const) {
    const a = new Asm(at(L.HANDLER) + off, true);
    a.outByte(DEBUGCON, ch);
    a.ins('mov', 'eAX,Iv', { imm: [SEL.DATA0] });
    for (const s of [0, 3, 2]) a.movSreg(s, EAX);
    a.movImm(ESP, KSTACK);
    a.ins('jmp', 'Jz', { imm: [resume - (a.here + 5)] });
    img.set(a.finish(), L.HANDLER + off);
  }

  // The prologue.
  const p = new Asm(at(L.PROLOGUE), true);
  p.ins('lgdt', 'Ms', { rm: { abs: at(L.GDTR) } });
  p.ins('lidt', 'Ms', { rm: { abs: at(L.IDTR) } });
  p.ins('jmp', 'Ap', { imm: [p.here + 7, SEL.CODE0] });
  p.ins('mov', 'eAX,Iv', { imm: [SEL.DATA0] });
  for (const s of [0, 3, 2, 4, 5]) p.movSreg(s, EAX);
  p.movImm(ESP, KSTACK);
  p.ins('mov', 'eAX,Iv', { imm: [SEL.TSS_A] });
  p.ins('ltr', 'Ew', { rm: EAX });
  // The PICs at 0x20/0x28, everything masked but the timer (when there is one).
  for (const [port, v] of [[0x20, 0x11], [0x21, IRQ_BASE], [0x21, 4], [0x21, 1], [0xa0, 0x11], [0xa1, IRQ_BASE + 8], [0xa1, 2], [0xa1, 1],
    [0x21, shape.timer ? 0xfe : 0xff], [0xa1, 0xff]] as const) p.outByte(port, v);
  if (shape.timer) {
    const divisor = 500 + rng.below(20000);
    p.outByte(0x43, 0x34); p.outByte(0x40, divisor & 0xff); p.outByte(0x40, divisor >> 8);
  }
  if (shape.paging !== 'off') {
    let cr4 = shape.paging === 'pse' ? 0x10 : shape.paging === 'pae' ? 0x30 : 0;
    if (rng.chance(0.3)) cr4 |= 0x80; // PGE
    p.movImm(EAX, cr4);
    p.ins('mov', 'Cd,Rd', { reg: 4, rm: EAX });
    p.movImm(EAX, root);
    p.ins('mov', 'Cd,Rd', { reg: 3, rm: EAX });
    p.ins('mov', 'Rd,Cd', { reg: 0, rm: EAX });
    p.ins('or', 'eAX,Iz', { imm: [0x80000000 | (rng.chance(0.5) ? 0x10000 : 0)] });
    p.ins('mov', 'Cd,Rd', { reg: 0, rm: EAX });
  }
  const bodyAt = at(L.BODY);
  if (shape.ring === 3) {
    p.ins('push', 'Iz', { imm: [SEL.DATA3] });
    p.ins('push', 'Iz', { imm: [USTACK] });
    p.ins('push', 'Iz', { imm: [userFlags] });
    p.ins('push', 'Iz', { imm: [SEL.CODE3] });
    p.ins('push', 'Iz', { imm: [bodyAt] });
    p.ins('iret');
  } else {
    if (shape.timer) p.ins('sti');
    p.ins('jmp', 'Jz', { imm: [bodyAt - (p.here + 5)] });
  }
  img.set(p.finish(), L.PROLOGUE);

  // The body.
  const world: World = {
    code32: true, base, ring: shape.ring, paging: shape.paging, style: shape.style, ramBytes: shape.ramMiB << 20,
    addresses: [at(L.CUR), at(L.GDT), at(L.GDT) + 0x28, at(L.IDT), at(L.IDT) + 0x68, at(L.TSS_A), at(L.TSS_B), at(L.SCRATCH),
      at(L.PD), at(L.PT0) + 0x400, at(L.PDPT), at(L.PAE_PD), at(L.BODY), at(L.BODY) + 0x400, at(L.STUBS) + 0x60, at(L.HANDLER),
      KSTACK - 0x40, USTACK - 0x40, 0xb8000, 0, 0x400, (shape.ramMiB << 20) - 8, 0xfee00000, 0xfffffff0],
  };
  const body = new Asm(bodyAt, true);
  for (let k = 0; k < n && body.here < at(L.END) - 0x100; k++) {
    put32(img, L.TABLE + 4 * k, body.here);
    body.movMemImm(at(L.CUR), k);
    gadget32(body, rng, world, k);
  }
  body.movMemImm(at(L.CUR), n);
  body.ins('ud2');
  const code = body.finish();
  img.set(code.subarray(0, Math.min(code.length, L.END - L.BODY)), L.BODY);
  return img;
}

/** A boot sector that loads the 32-bit block to `base` (below 1 MiB) and enters it in protected mode. */
function bootToProtected(base: number, length: number): Uint8Array {
  const a = new Asm(R.BOOT, false);
  a.ins('cli');
  a.ins('xor', 'Gv,Ev', { reg: EAX, rm: EAX });
  for (const s of [3, 0, 2]) a.movSreg(s, EAX);
  a.movImm(ESP, R.STACK);
  a.movImm(EAX, base >> 4);
  a.movSreg(0, EAX);
  a.ins('xor', 'Gv,Ev', { reg: EBX, rm: EBX });
  a.movImm(EAX, 0x0200 | Math.ceil(length / 512));
  a.movImm(ECX, 2);
  a.ins('mov', 'DH,Ib', { imm: [0] });
  a.ins('int', 'Ib', { imm: [0x13] });
  a.ins('in', 'AL,Ib', { imm: [0x92] });
  a.ins('or', 'AL,Ib', { imm: [2] });
  a.outImm(0x92);
  a.ins('lgdt', 'Ms', { rm: { abs: 0x7df0 } }, [0x66]);
  a.ins('mov', 'Rd,Cd', { reg: 0, rm: EAX });
  a.ins('or', 'AL,Ib', { imm: [1] });
  a.ins('mov', 'Cd,Rd', { reg: 0, rm: EAX });
  a.ins('jmp', 'Ap', { imm: [base + L.PROLOGUE, SEL.CODE0] }, [0x66]);
  const sector = new Uint8Array(512);
  sector.set(a.finish());
  // The GDTR at 0x7DF0: the block's own GDT, where it will be once loaded.
  const gdtr = [0x7f, 0, (base + L.GDT) & 0xff, ((base + L.GDT) >> 8) & 0xff, (base + L.GDT) >> 16, 0];
  sector.set(gdtr, 0x1f0);
  sector[510] = 0x55; sector[511] = 0xaa;
  return sector;
}

// ------------------------------------------------------------------ 16-bit world

function realGuest(rng: Rng, shape: Shape): Uint8Array {
  const exitStatus = rng.below(0x40);
  const n = Math.min(shape.gadgets, R.MAX_GADGETS);
  // The gadgets first (their size decides how many sectors the boot sector loads); their table
  // goes in front of them, loaded with them.
  const world: World = {
    code32: false, base: 0, ring: 0, paging: 'off', style: shape.style, ramBytes: shape.ramMiB << 20,
    addresses: [R.CUR, R.TABLE, R.SCRATCH, R.BOOT, R.BODY, R.BODY + 0x200, R.STACK - 0x20, 0, 0x20, 0x400, 0x7dfe],
  };
  const body = new Asm(R.BODY, false);
  const table = new Uint8Array(R.BODY - R.TABLE);
  const limit = R.TABLE + R.MAX_SECTORS * 512 - 0x40;
  for (let k = 0; k < n && body.here < limit; k++) {
    table[2 * k] = body.here & 0xff; table[2 * k + 1] = body.here >> 8;
    body.movMemImm(R.CUR, k);
    gadget16(body, rng, world, k);
  }
  body.movMemImm(R.CUR, n);
  body.ins('ud2');
  const gadgets = body.finish();
  const loaded = new Uint8Array(Math.min(table.length + gadgets.length, R.MAX_SECTORS * 512));
  loaded.set(table);
  loaded.set(gadgets.subarray(0, loaded.length - table.length), table.length);
  const sectors = Math.ceil(loaded.length / 512);

  const a = new Asm(R.BOOT, false);
  a.ins('cli');
  a.ins('xor', 'Gv,Ev', { reg: EAX, rm: EAX });
  for (const s of [3, 0, 2]) a.movSreg(s, EAX);
  a.movImm(ESP, R.STACK);
  a.movImm(EBX, R.TABLE);
  a.movImm(EAX, 0x0200 | sectors);
  a.movImm(ECX, 2);
  a.ins('mov', 'DH,Ib', { imm: [0] });
  a.ins('int', 'Ib', { imm: [0x13] });
  a.jump('jmp', 'setup');
  // The exception vectors 0-7 (the BIOS keeps the rest): print the vector, resume.
  const stubs: number[] = [];
  for (let v = 0; v < 8; v++) {
    stubs.push(a.here);
    a.outByte(DEBUGCON, v);
    a.jump('jmp', 'handler');
  }
  a.label('handler');
  a.ins('xor', 'Gv,Ev', { reg: EAX, rm: EAX });
  for (const s of [3, 0, 2]) a.movSreg(s, EAX);
  a.movImm(ESP, R.STACK);
  a.ins('inc', 'Ev', { rm: { abs: R.FAULTS } });
  a.ins('cmp', 'Ev,Iz', { rm: { abs: R.FAULTS }, imm: [300] });
  a.jump('jnc', 'exit');
  a.ins('mov', 'eAX,Ov', { imm: [R.CUR] });
  a.ins('inc', 'eAX');
  a.ins('mov', 'Ov,eAX', { imm: [R.CUR] });
  a.ins('cmp', 'eAX,Iz', { imm: [n] });
  a.jump('jnc', 'exit');
  a.ins('shl', 'Ev,Ib', { rm: EAX, imm: [1] });
  a.ins('mov', 'Gv,Ev', { reg: EBX, rm: EAX });
  if (shape.timer) a.ins('sti');
  a.ins('jmp', 'Ev', { rm: { base: EBX, disp: R.TABLE } });
  a.label('exit');
  a.outByte(DEBUGCON, 0x5a);
  a.outByte(EXIT_PORT, exitStatus);
  a.ins('cli');
  a.ins('hlt');
  a.jump('jmp', 'exit');
  a.label('setup');
  stubs.forEach((addr, v) => { a.movMemImm(4 * v, addr); a.movMemImm(4 * v + 2, 0); });
  if (shape.timer) a.ins('sti');
  a.ins('jmp', 'Jz', { imm: [R.BODY - (a.here + 3)] });
  const boot = a.finish();
  if (boot.length > 510) throw new Error(`the boot sector is ${boot.length} bytes`);
  const image = new Uint8Array(512 + sectors * 512);
  image.set(boot);
  image[510] = 0x55; image[511] = 0xaa;
  image.set(loaded, 512);
  return image;
}
