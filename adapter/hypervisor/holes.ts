// Virtualization holes: the sensitive instructions x86 lets run unprivileged. Under trap-and-emulate
// they execute at ring 1 on the processor's real state and cannot trap, so the guest kernel sees what
// the processor has, not what ring 0 on bare hardware would give. The monitor in a real system never
// sees them; Ringside observes each one (it owns the CPU) to record the difference, and then lets the
// instruction run exactly as the hardware runs it:
//   PUSHF shows the processor's IF (always set for the monitor); POPF and IRET cannot change IF (nor
//   IOPL) at ring 1; SGDT and SIDT reveal the monitor's tables; SMSW shows the processor's CR0; PUSH CS,
//   PUSH SS and MOV from CS/SS show RPL 1; LAR, LSL, VERR and VERW see the shadow descriptors (DPL 1
//   for the guest's DPL 0, the shadow TSS's limit), in the GDT and in the LDT alike.
import type { Cpu } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import { CS, SS } from '../cpu/insn';
import { Cls } from '../cpu/opcodes';
import { IOPL, NT, VM } from '../cpu/flags';
import { AR_UNUSABLE, CPU_FAULT } from '../cpu/cpu';
import type { Monitor } from './monitor';

/** The instruction classes the observer sees. */
export const HOLE_CLASSES = Cls.Sensitive | Cls.Pushf | Cls.IntFlag | Cls.DescStore | Cls.Smsw | Cls.FarTransfer;

export interface HoleEvent {
  /** 1 for the first hole of the run. */
  seq: number;
  icount: number;
  cs: number;
  eip: number;
  /** The instruction as disassembled. */
  instruction: string;
  /** What the guest got. */
  saw: string;
  /** What it would have got at ring 0 on bare hardware. */
  bare: string;
}

const MAX_KEPT = 1000;
const hex = (v: number) => '0x' + (v >>> 0).toString(16);

export class Holes {
  readonly events: HoleEvent[] = [];
  total = 0;
  /** Counts by mnemonic. */
  readonly byInstruction = new Map<string, number>();

  constructor(private readonly m: Monitor) {}

  private record(c: Cpu, i: Insn, saw: string, bare: string): void {
    // An instruction that faulted (a page not yet in the shadow) and runs again is one occurrence.
    const last = this.events[this.events.length - 1];
    if (last && last.icount === c.icount && last.eip === c.curEip >>> 0 && last.saw === saw) return;
    this.total++;
    const instruction = this.m.insnText(i);
    const mn = instruction.split(' ')[0];
    this.byInstruction.set(mn, (this.byInstruction.get(mn) ?? 0) + 1);
    this.events.push({ seq: this.total, icount: c.icount, cs: c.segSel[CS], eip: c.curEip >>> 0, instruction, saw, bare });
    if (this.events.length > MAX_KEPT) this.events.shift();
  }

  /** A difference that comes from the shadow structures themselves rather than from one instruction. */
  note(what: string, saw: string, bare: string): void {
    const c = this.m.cpu;
    this.total++;
    this.byInstruction.set(what, (this.byInstruction.get(what) ?? 0) + 1);
    this.events.push({ seq: this.total, icount: c.icount, cs: c.segSel[CS], eip: c.eip >>> 0, instruction: what, saw, bare });
    if (this.events.length > MAX_KEPT) this.events.shift();
  }

  /** A difference the monitor itself introduced while emulating (a guest frame it had to patch). */
  fixup(i: Insn, what: string): void {
    this.record(this.m.cpu, i, what, 'the frame as the guest built it');
  }

  /** Called before every instruction of HOLE_CLASSES; returns false: the instruction runs natively. */
  observe(c: Cpu, i: Insn): boolean {
    const m = this.m;
    if (!m.deprivileged) return false;
    const kernel = c.cpl === 1;
    const vif = m.v.vif ? 1 : 0;
    switch (i.entry.handler) {
      case 'pushf':
        if (kernel && !vif) this.record(c, i, 'IF=1 (the processor\'s, kept on for the monitor)', 'IF=0 (the guest disabled interrupts)');
        break;
      case 'popf': {
        if (!kernel) break;
        const f = c.readN(SS, c.getSp(), i.osize);
        const want = (f >>> 9) & 1;
        if (want !== vif) this.record(c, i, `IF stays ${vif} (POPF cannot change IF at ring 1 with IOPL 0)`, `IF=${want}`);
        const iopl = (f & IOPL) >>> 12, cur = (c.flags & IOPL) >>> 12;
        if (i.osize === 4 && iopl !== cur) this.record(c, i, `IOPL stays ${cur}`, `IOPL=${iopl}`);
        break;
      }
      case 'iret': {
        if (!kernel || c.flags & NT) break; // with NT, a task return (taskswitch.ts)
        const sp = c.getSp();
        const f = c.readN(SS, (sp + 2 * i.osize) | 0, i.osize);
        if (f & VM && i.osize === 4) { this.iretToV86(c, i, c.readN(SS, (sp + 4) | 0, 2)); break; }
        const want = (f >>> 9) & 1;
        if (want !== vif) this.record(c, i, `IF stays ${vif} (IRET cannot change IF at ring 1 with IOPL 0)`, `IF=${want}`);
        const iopl = (f & IOPL) >>> 12, cur = (c.flags & IOPL) >>> 12;
        if (iopl !== cur) this.record(c, i, `IOPL stays ${cur} (only ring 0 can change it)`, `IOPL=${iopl}`);
        this.ringCompression(c, i, c.readN(SS, (sp + i.osize) | 0, 2));
        break;
      }
      case 'retf':
        if (kernel) this.ringCompression(c, i, c.readN(SS, (c.getSp() + i.osize) | 0, 2));
        break;
      case 'jmpf': case 'callf':
        // From ring 3 too: a call gate to the guest's ring 1 or 2 lands at ring 1.
        if (i.entry.operands[0] === 'Ap') this.ringCompression(c, i, i.imm2);
        else if (i.mem) this.ringCompression(c, i, c.read16(i.seg, (i.ea(c, i) + i.osize) | 0));
        break;
      case 'sgdt': case 'sidt': {
        const gdt = i.entry.handler === 'sgdt';
        const [base, limit] = gdt ? [c.gdtrBase, c.gdtrLimit] : [c.idtrBase, c.idtrLimit];
        const [vb, vl] = gdt ? [m.v.gdtBase, m.v.gdtLimit] : [m.v.idtBase, m.v.idtLimit];
        this.record(c, i, `base ${hex(base)} limit ${hex(limit)} (the monitor's shadow table)`, `base ${hex(vb)} limit ${hex(vl)}`);
        break;
      }
      case 'smsw': {
        const whole = !i.mem && i.osize === 4;
        const saw = whole ? c.cr0 >>> 0 : c.cr0 & 0xffff, bare = whole ? m.guest.cr0 >>> 0 : m.guest.cr0 & 0xffff;
        if (saw !== bare) this.record(c, i, `CR0 ${hex(saw)}`, `CR0 ${hex(bare)}`);
        break;
      }
      case 'push_sreg':
        if (kernel && (i.entry.sub === CS || i.entry.sub === SS)) {
          const sel = c.segSel[i.entry.sub];
          this.record(c, i, `selector ${hex(sel)} (RPL ${sel & 3})`, `selector ${hex(sel & ~3)} (RPL 0)`);
        }
        break;
      case 'movsreg':
        if (kernel && i.entry.sub === 0 && (i.reg === CS || i.reg === SS)) {
          const sel = c.segSel[i.reg];
          this.record(c, i, `selector ${hex(sel)} (RPL ${sel & 3})`, `selector ${hex(sel & ~3)} (RPL 0)`);
        }
        break;
      case 'lar': case 'lsl': case 'verr': case 'verw':
        this.descriptorQuery(c, i);
        break;
    }
    return false;
  }

  /**
   * LAR, LSL, VERR, VERW read the descriptor tables the processor has: the shadow GDT and LDT, where the
   * guest's DPL 0 is DPL 1 and a TSS descriptor is the shadow TSS's. Both answers are worked out (the
   * processor's at its CPL, bare hardware's from the guest's own tables at the guest's ring) and a
   * difference is a hole. The accessed bit is left out: that the shadow's are set and the guest's are
   * not is the "(descriptor tables)" hole.
   */
  private descriptorQuery(c: Cpu, i: Insn): void {
    const m = this.m, v = m.v, op = i.entry.handler as QueryOp;
    let sel: number;
    try {
      sel = i.mem ? c.read16(i.seg, i.ea(c, i)) : c.r16[i.rm << 1];
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      return; // the operand faults: it will again, natively
    }
    const shadow = (s: number): [number, number] | undefined => {
      if (s & 4) {
        if (c.ldtrAr & AR_UNUSABLE || !(c.ldtrSel & 0xfffc) || (s | 7) > (c.ldtrLimit >>> 0)) return undefined;
        return m.window.readLdt(s >>> 3);
      }
      return (s | 7) > (c.gdtrLimit & 0xffff) ? undefined : m.window.readGdt(s >>> 3);
    };
    const guest = (s: number): [number, number] | undefined => {
      const [base, limit] = s & 4 ? (v.ldtrSel & 0xfffc ? [v.ldtrBase, v.ldtrLimit] : [0, -1]) : [v.gdtBase, v.gdtLimit];
      if (limit < 0 || (s | 7) > limit) return undefined;
      const lo = m.readGuest32((base + (s & ~7)) >>> 0), hi = m.readGuest32((base + (s & ~7) + 4) >>> 0);
      return lo === undefined || hi === undefined ? undefined : [lo, hi];
    };
    const saw = queryDescriptor(op, sel, c.cpl, shadow), bare = queryDescriptor(op, sel, m.guestRing(), guest);
    if (saw.ok === bare.ok && saw.value === bare.value) return;
    const say = (r: QueryResult, dpl: number | undefined) => (!r.ok ? 'ZF=0 (refused)'
      : op === 'lar' ? `access rights ${hex(r.value)} (DPL ${dpl})` : op === 'lsl' ? `limit ${hex(r.value)}` : 'ZF=1');
    const sd = shadow(sel), gd = guest(sel);
    this.record(c, i, `${say(saw, sd && (sd[1] >>> 13) & 3)} from the shadow descriptor`, `${say(bare, gd && (gd[1] >>> 13) & 3)} from the guest's descriptor`);
  }

  /**
   * Ring compression: a transfer to the guest's own ring-1 or ring-2 code lands at ring 1, where the
   * monitor cannot tell it from the guest's ring 0 (and emulates ring-0 privileges for it).
   */
  /** Far transfers in kernel code under binary translation still meet ring compression. */
  transfer(c: Cpu, i: Insn): void {
    switch (i.entry.handler) {
      case 'iret': case 'retf': this.ringCompression(c, i, c.readN(SS, (c.getSp() + i.osize) | 0, 2)); break;
      case 'jmpf': case 'callf':
        if (i.entry.operands[0] === 'Ap') this.ringCompression(c, i, i.imm2);
        else if (i.mem) this.ringCompression(c, i, c.read16(i.seg, (i.ea(c, i) + i.osize) | 0));
        break;
    }
  }

  private ringCompression(c: Cpu, i: Insn, sel: number): void {
    if (!(sel & 0xfffc) || sel & 4) return;
    const m = this.m;
    if ((sel | 7) > m.v.gdtLimit) return;
    let hi = m.readGuest32((m.v.gdtBase + (sel & ~7) + 4) >>> 0);
    if (hi === undefined) return;
    const type = (hi >>> 8) & 0x1f;
    if (type === 1 || type === 3 || type === 5 || type === 9 || type === 11) return; // a task switch: the monitor's (taskswitch.ts)
    if (type === 4 || type === 12) {
      // A call gate: the ring of its target code segment.
      const lo = m.readGuest32((m.v.gdtBase + (sel & ~7)) >>> 0);
      if (lo === undefined) return;
      const target = lo >>> 16;
      if (!(target & 0xfffc) || target & 4 || (target | 7) > m.v.gdtLimit) return;
      hi = m.readGuest32((m.v.gdtBase + (target & ~7) + 4) >>> 0);
      if (hi === undefined) return;
    }
    if (!(hi & 0x1000) || !(hi & 0x800)) return;
    const dpl = (hi >>> 13) & 3;
    const ring = (hi >>> 10) & 1 ? (c.segSel[CS] & 3) : dpl; // conforming code keeps the caller's ring
    if (ring === 1 || ring === 2)
      this.record(c, i, `ring ${ring} code of the guest runs at ring 1, which the monitor treats as the guest's ring 0`, `ring ${ring}`);
  }

  /**
   * IRETD to VM = 1 at ring 1: the processor ignores VM and returns to the frame's CS as a
   * protected-mode selector. A real-mode segment value with RPL 0, or one the shadow tables refuse,
   * faults, and the monitor enters the v86 task from that #GP (privemul.ts); one the processor would
   * load as ring-1..3 code returns to protected mode instead: the guest goes wrong, and this is why.
   */
  private iretToV86(c: Cpu, i: Insn, cs: number): void {
    if (!(cs & 0xfffc) || (cs & 3) === 0) return;
    const d = cs & 4 ? ((c.ldtrSel & 0xfffc) && (cs | 7) <= (c.ldtrLimit >>> 0) ? this.m.window.readLdt(cs >>> 3) : undefined)
      : (cs | 7) <= (c.gdtrLimit & 0xffff) ? this.m.window.readGdt(cs >>> 3) : undefined;
    if (!d) return;
    const hi = d[1], dpl = (hi >>> 13) & 3;
    if ((hi & 0x1800) !== 0x1800 || (hi & 0x400 ? dpl > (cs & 3) : dpl !== (cs & 3))) return;
    this.record(c, i, `a return to protected-mode selector ${hex(cs)} (at ring 1 the processor ignores VM; the selector loads)`, 'virtual-8086 mode entered');
  }

  statsLines(): string[] {
    if (!this.total) return ['virtualization holes: none'];
    const by = [...this.byInstruction].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} x${n}`).join(', ');
    return [`virtualization holes: ${this.total} (${by})`];
  }
}

export type QueryOp = 'lar' | 'lsl' | 'verr' | 'verw';
export interface QueryResult { ok: boolean; value: number }

/**
 * What LAR, LSL, VERR or VERW report for a selector at a CPL, given the descriptor table lookup
 * (undefined: beyond the table's limit, or no LDT). As the SDM words it: a null selector, a system type
 * the instruction does not accept, or a DPL below CPL or RPL (conforming code aside) clears ZF.
 * LAR's value leaves the accessed bit out (see Holes.descriptorQuery).
 */
export function queryDescriptor(op: QueryOp, sel: number, cpl: number, lookup: (sel: number) => [number, number] | undefined): QueryResult {
  const no = { ok: false, value: 0 };
  sel &= 0xffff;
  if (!(sel & 0xfffc)) return no;
  const d = lookup(sel);
  if (!d) return no;
  const [lo, hi] = d;
  const s = (hi & 0x1000) !== 0, type = (hi >>> 8) & 0xf, dpl = (hi >>> 13) & 3;
  const code = s && (type & 8) !== 0, conforming = code && (type & 4) !== 0;
  if (!s) {
    const okTypes = op === 'lar' ? [1, 2, 3, 4, 5, 9, 11, 12] : op === 'lsl' ? [1, 2, 3, 9, 11] : [];
    if (!okTypes.includes(type)) return no;
  }
  if (!conforming && (dpl < cpl || dpl < (sel & 3))) return no;
  switch (op) {
    case 'lar': return { ok: true, value: (hi & 0x00ffff00 & ~(s ? 0x100 : 0)) >>> 0 };
    case 'lsl': {
      const raw = (lo & 0xffff) | (hi & 0xf0000);
      return { ok: true, value: (hi & 0x800000 ? (raw << 12) | 0xfff : raw) >>> 0 };
    }
    case 'verr': return { ok: s && (!code || (type & 2) !== 0), value: 0 };
    case 'verw': return { ok: s && !code && (type & 2) !== 0, value: 0 };
  }
}
