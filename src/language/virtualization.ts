// What each instruction class does under each virtualization mode: the one table behind hovers,
// privileged-line decorations and "break on privileged instructions". Classes and privilege come from
// the opcode table, exit reason numbers from the hypervisor's exit table (both through
// isa.generated.json, written by scripts/gen-guest-asm.ts). No 'vscode' here: unit-tested in Node.
import isa from './isa.generated.json';

export type Privilege = 'cpl0' | 'iopl' | 'sensitive' | 'none';
export type Mode = 'none' | 'vtx+ept' | 'vtx+shadow' | 'trap-and-emulate' | 'binary-translation' | 'paravirt';
export const MODES: readonly Mode[] = ['none', 'vtx+ept', 'vtx+shadow', 'trap-and-emulate', 'binary-translation', 'paravirt'];

export interface MnemonicInfo {
  classes: string[];
  privilege: Privilege;
  family?: string;
  inTable: boolean;
  operandDependent?: boolean;
  formsPrivilege?: Privilege;
}

export const MNEMONICS = isa.mnemonics as Record<string, MnemonicInfo>;
const EXIT = isa.exitReasons as Record<string, number>;

/** "28 CR_ACCESS" from the exit table (throws on a name the table lacks, so a typo cannot ship). */
export function exit(name: string): string {
  const n = EXIT[name];
  if (n === undefined) throw new Error(`no exit reason ${name}`);
  return `${n} ${name}`;
}

type Behaviour = Partial<Record<Mode, string>>;

/**
 * Per instruction class, per mode. Keys are the opcode table's class names ('Svm' marks the AMD
 * instructions the table lacks). A mode left out behaves as on bare hardware.
 */
const CLASS_BEHAVIOUR: Record<string, Behaviour> = {
  CrWrite: {
    'vtx+ept': `CR3: no exit by default. CR0/CR4: exits (${exit('CR_ACCESS')}) only when a host-owned bit changes (guest/host masks)`,
    'vtx+shadow': `exits (${exit('CR_ACCESS')}): CR3 loads make the hypervisor switch shadow roots; CR0/CR4 paging bits resync the shadow tables`,
    'trap-and-emulate': '#GP at ring 1, emulated by the monitor against the virtual CR',
    'binary-translation': 'rewritten into a call to the monitor, which updates the virtual CR',
    paravirt: 'replaced by a hypercall (page-table base and CR updates are validated by the hypervisor)',
  },
  CrRead: {
    'vtx+ept': 'no exit: CR0/CR4 reads return the read shadows, CR3 reads the guest\'s own value',
    'vtx+shadow': `MOV from CR3 exits (${exit('CR_ACCESS')}) so the guest sees its CR3, not the shadow root; CR0/CR4 read the shadows`,
    'trap-and-emulate': '#GP at ring 1, emulated: returns the virtual CR',
    'binary-translation': 'rewritten to read the virtual CR',
  },
  Clts: {
    'vtx+ept': `exits (${exit('CR_ACCESS')}) when CR0.TS is host-owned, else runs in the guest`,
    'vtx+shadow': `exits (${exit('CR_ACCESS')}) when CR0.TS is host-owned`,
    'trap-and-emulate': '#GP at ring 1, emulated by the monitor',
    'binary-translation': 'rewritten into a monitor call',
  },
  Lmsw: {
    'vtx+ept': `exits (${exit('CR_ACCESS')}) when it changes a host-owned CR0 bit`,
    'vtx+shadow': `exits (${exit('CR_ACCESS')}) when it changes a host-owned CR0 bit`,
    'trap-and-emulate': '#GP at ring 1, emulated by the monitor',
    'binary-translation': 'rewritten into a monitor call',
  },
  DrAccess: {
    'vtx+ept': `exits (${exit('DR_ACCESS')}) when MOV-DR exiting is on`,
    'vtx+shadow': `exits (${exit('DR_ACCESS')}) when MOV-DR exiting is on`,
    'trap-and-emulate': '#GP at ring 1, emulated against the virtual debug registers',
    'binary-translation': 'rewritten into a monitor call',
  },
  DescLoad: {
    'vtx+ept': `no exit by default; exits (${exit('GDTR_IDTR')} / ${exit('LDTR_TR')}) with descriptor-table exiting`,
    'vtx+shadow': `no exit by default; exits (${exit('GDTR_IDTR')} / ${exit('LDTR_TR')}) with descriptor-table exiting`,
    'trap-and-emulate': '#GP at ring 1: the monitor records the guest\'s table and builds shadow descriptor tables',
    'binary-translation': 'rewritten into a monitor call that builds shadow descriptor tables',
    paravirt: 'done through a hypercall that validates the table',
  },
  DescStore: {
    'vtx+ept': `no exit by default (${exit('GDTR_IDTR')} / ${exit('LDTR_TR')} with descriptor-table exiting)`,
    'vtx+shadow': `no exit by default (${exit('GDTR_IDTR')} / ${exit('LDTR_TR')} with descriptor-table exiting)`,
    'trap-and-emulate': 'does NOT trap: runs at ring 1 and reveals the monitor\'s table (a virtualization hole)',
    'binary-translation': 'rewritten to return the guest\'s virtual value',
  },
  Smsw: {
    'trap-and-emulate': 'does NOT trap: reveals the real CR0 bits (a virtualization hole)',
    'binary-translation': 'rewritten to return the virtual CR0',
  },
  Io: {
    'vtx+ept': `exits (${exit('IO_INSTRUCTION')}) for ports in the I/O bitmap: every emulated device`,
    'vtx+shadow': `exits (${exit('IO_INSTRUCTION')}) for ports in the I/O bitmap: every emulated device`,
    'trap-and-emulate': '#GP at ring 1 (CPL > IOPL), emulated by the monitor\'s devices',
    'binary-translation': 'rewritten into a monitor call to the device model',
    paravirt: 'the console is a hypercall; other ports #GP into the hypervisor',
  },
  MsrRead: {
    'vtx+ept': `exits (${exit('MSR_READ')}) for MSRs in the MSR bitmap`,
    'vtx+shadow': `exits (${exit('MSR_READ')}) for MSRs in the MSR bitmap`,
    'trap-and-emulate': '#GP at ring 1, emulated against the virtual MSRs',
    'binary-translation': 'rewritten into a monitor call',
  },
  MsrWrite: {
    'vtx+ept': `exits (${exit('MSR_WRITE')}) for MSRs in the MSR bitmap`,
    'vtx+shadow': `exits (${exit('MSR_WRITE')}) for MSRs in the MSR bitmap`,
    'trap-and-emulate': '#GP at ring 1, emulated against the virtual MSRs',
    'binary-translation': 'rewritten into a monitor call',
  },
  Cpuid: {
    'vtx+ept': `always exits (${exit('CPUID')}): the hypervisor decides which features the guest sees`,
    'vtx+shadow': `always exits (${exit('CPUID')})`,
    'trap-and-emulate': 'does NOT trap: the guest sees the host CPU\'s features (a virtualization hole)',
    'binary-translation': 'rewritten into a monitor call that returns the virtual CPU\'s leaves',
  },
  Hlt: {
    'vtx+ept': `exits (${exit('HLT')}): the vCPU sleeps until an interrupt is injected`,
    'vtx+shadow': `exits (${exit('HLT')})`,
    'trap-and-emulate': '#GP at ring 1: the monitor idles the vCPU',
    'binary-translation': 'rewritten into a monitor call that idles the vCPU',
    paravirt: 'replaced by the yield/halt hypercall',
  },
  IntFlag: {
    'vtx+ept': `no exit; with interrupts pending the hypervisor asks for an interrupt window (${exit('INTERRUPT_WINDOW')})`,
    'vtx+shadow': `no exit; interrupt-window exiting (${exit('INTERRUPT_WINDOW')}) when an interrupt waits`,
    'trap-and-emulate': '#GP at ring 1 (CPL > IOPL), emulated on the virtual IF',
    'binary-translation': 'rewritten to change the virtual IF',
    paravirt: 'the virtual interrupt flag is set through a hypercall',
  },
  Invlpg: {
    'vtx+ept': 'no exit: the guest flushes its own TLB entries (tagged by VPID)',
    'vtx+shadow': `exits (${exit('INVLPG')}) so the hypervisor drops the shadow entry`,
    'trap-and-emulate': '#GP at ring 1: the monitor drops the shadow entry',
    'binary-translation': 'rewritten into a monitor call that drops the shadow entry',
    paravirt: 'part of the page-table update hypercall',
  },
  Cache: {
    'vtx+ept': `INVD always exits (${exit('INVD')}); WBINVD exits (${exit('WBINVD')}) with WBINVD exiting`,
    'vtx+shadow': `INVD always exits (${exit('INVD')}); WBINVD exits (${exit('WBINVD')}) with WBINVD exiting`,
    'trap-and-emulate': '#GP at ring 1, emulated (a no-op on emulated caches)',
    'binary-translation': 'rewritten into a monitor call',
  },
  Vmx: {
    none: '#UD: no VMX operation without a hypervisor',
    'vtx+ept': `VMCALL exits (${exit('VMCALL')}): a hypercall. The other VMX instructions exit (${exit('VMLAUNCH')} and neighbours) and are reflected as #UD`,
    'vtx+shadow': `VMCALL exits (${exit('VMCALL')}); other VMX instructions exit and are reflected as #UD`,
    'trap-and-emulate': '#UD (the monitor offers no hypercalls in this mode)',
    'binary-translation': '#UD',
    paravirt: `VMCALL exits (${exit('VMCALL')}): the paravirtual ABI (EAX number; EBX, ECX, EDX, ESI arguments)`,
  },
  Rdtsc: {
    'vtx+ept': `exits (${exit('RDTSC')}) only with RDTSC exiting on; else reads the offset TSC`,
    'vtx+shadow': `exits (${exit('RDTSC')}) only with RDTSC exiting on`,
  },
  Rdpmc: {
    'vtx+ept': `exits (${exit('RDPMC')})`,
    'vtx+shadow': `exits (${exit('RDPMC')})`,
  },
  Pause: {
    'vtx+ept': `pause-loop exiting: exits (${exit('PAUSE_INSTRUCTION')}) when a spin outlasts the PLE window`,
    'vtx+shadow': `pause-loop exiting (${exit('PAUSE_INSTRUCTION')})`,
  },
  SoftInt: {
    'vtx+ept': `no exit unless its vector is in the exception bitmap (${exit('EXCEPTION_NMI')})`,
    'vtx+shadow': `no exit unless its vector is in the exception bitmap (${exit('EXCEPTION_NMI')})`,
    'trap-and-emulate': 'delivered through the monitor\'s shadow IDT, then forwarded to the guest\'s handler',
    'binary-translation': 'delivered through the monitor, then to the guest\'s handler',
  },
  Sysenter: {
    'trap-and-emulate': 'enters the monitor (it owns the SYSENTER MSRs), which forwards to the guest kernel at ring 1',
    'binary-translation': 'enters the monitor, which forwards to the translated guest kernel',
  },
  FarTransfer: {
    'trap-and-emulate': 'privilege checks see ring 1, not 0: RPLs and the pushed CS show 1',
  },
  Sensitive: {
    'trap-and-emulate': 'does NOT trap although it reads or drops privileged state: a virtualization hole',
    'binary-translation': 'rewritten so the guest sees its virtual state',
  },
  Mwait: {
    'vtx+ept': `exits (${exit('MONITOR_INSTRUCTION')} / ${exit('MWAIT_INSTRUCTION')})`,
    'vtx+shadow': `exits (${exit('MONITOR_INSTRUCTION')} / ${exit('MWAIT_INSTRUCTION')})`,
  },
  Svm: {
    none: '#UD: AMD SVM; Ringside\'s CPU and hypervisor follow Intel VT-x',
    'vtx+ept': '#UD (AMD SVM instruction on an Intel-style CPU)',
    'vtx+shadow': '#UD (AMD SVM instruction on an Intel-style CPU)',
    'trap-and-emulate': '#UD', 'binary-translation': '#UD', paravirt: '#UD',
  },
};

/** Order of precedence when an instruction has several classes (the most specific first). */
const CLASS_ORDER = ['CrWrite', 'CrRead', 'Clts', 'Lmsw', 'DrAccess', 'DescLoad', 'DescStore', 'Smsw', 'Io', 'MsrRead', 'MsrWrite', 'Cpuid', 'Hlt',
  'Invlpg', 'Cache', 'Vmx', 'Svm', 'Rdtsc', 'Rdpmc', 'Pause', 'Mwait', 'SoftInt', 'Sysenter', 'IntFlag', 'FarTransfer', 'Sensitive'];

export const PRIVILEGE_TEXT: Record<Privilege, string> = {
  cpl0: 'CPL 0 only (#GP elsewhere)',
  iopl: 'IOPL-sensitive: #GP when CPL > IOPL',
  sensitive: 'any CPL, but sensitive: it reads or drops privileged state',
  none: 'any CPL',
};

/** An instruction as written on a line: mnemonic plus the operands that change its class. */
export interface InsnForm {
  mnemonic: string;
  /** Classes of this form (MOV to CR3 has CrWrite, MOV EAX,EBX none). */
  classes: string[];
  privilege: Privilege;
  /** "MOV to CR3", "LGDT". */
  title: string;
  /** Control register number for MOV to/from CRn. */
  cr?: number;
}

const CR_RE = /^(?:cr([0-8]))$/i;

/** Classifies an instruction from its text (no label, no comment): "mov cr3, eax". */
export function classify(text: string): InsnForm | undefined {
  const m = /^\s*(?:(?:rep|repe|repz|repne|repnz|lock|o16|o32|a16|a32)\s+)*([a-z][a-z0-9_]*)\b\s*(.*)$/i.exec(text);
  if (!m) return undefined;
  const mnemonic = m[1].toLowerCase();
  const info = MNEMONICS[mnemonic];
  if (!info) return undefined;
  const ops = m[2].split(',').map((o) => o.trim().toLowerCase());
  let classes = info.classes, privilege = info.privilege, title = mnemonic.toUpperCase(), cr: number | undefined;
  if (mnemonic === 'mov') {
    const dst = ops[0] ?? '', src = ops[1] ?? '';
    const dcr = CR_RE.exec(dst), scr = CR_RE.exec(src);
    if (dcr) { classes = ['CrWrite']; privilege = 'cpl0'; cr = Number(dcr[1]); title = `MOV to CR${cr}`; }
    else if (scr) { classes = ['CrRead']; privilege = 'cpl0'; cr = Number(scr[1]); title = `MOV from CR${cr}`; }
    else if (/^(dr[0-7]|tr[3-7])$/.test(dst) || /^(dr[0-7]|tr[3-7])$/.test(src)) { classes = ['DrAccess']; privilege = 'cpl0'; title = `MOV ${/^dr/.test(dst) ? 'to' : 'from'} ${(/^(dr|tr)/.test(dst) ? dst : src).toUpperCase()}`; }
    else if (/^(cs|ss)$/.test(src)) { classes = ['Sensitive']; privilege = 'sensitive'; title = `MOV from ${src.toUpperCase()}`; }
    else { classes = []; privilege = 'none'; }
  } else if (mnemonic === 'push') {
    if (/^(cs|ss)$/.test(ops[0] ?? '')) { classes = ['Sensitive']; privilege = 'sensitive'; title = `PUSH ${ops[0].toUpperCase()}`; }
    else { classes = []; privilege = 'none'; }
  }
  return { mnemonic, classes, privilege, title, cr };
}

/** Per mode, what this instruction does (bare-hardware modes fall back to "runs natively"). */
export function behaviour(form: InsnForm): Record<Mode, string> {
  const out = {} as Record<Mode, string>;
  const ordered = CLASS_ORDER.filter((c) => form.classes.includes(c));
  // POPF, PUSHF: what makes them interesting is that they do not trap.
  if (form.privilege === 'sensitive' && ordered.includes('Sensitive')) ordered.unshift('Sensitive');
  for (const mode of MODES) {
    let text: string | undefined;
    for (const c of ordered) {
      text = CLASS_BEHAVIOUR[c]?.[mode];
      if (text) break;
    }
    // MOV to/from CR3 has its own story under EPT and shadow paging; refine the shared CR text.
    if (text && form.cr !== undefined && (mode === 'vtx+ept' || mode === 'vtx+shadow')) {
      if (form.classes.includes('CrWrite')) text = form.cr === 3
        ? (mode === 'vtx+ept' ? 'no exit by default' : `exits (${exit('CR_ACCESS')}) so the hypervisor switches shadow roots`)
        : `exits (${exit('CR_ACCESS')}) only when a host-owned bit changes (guest/host mask)${mode === 'vtx+shadow' && form.cr !== 8 ? '; paging bits resync the shadow tables' : ''}`;
      else if (form.classes.includes('CrRead')) text = form.cr === 3
        ? (mode === 'vtx+ept' ? 'no exit: reads the guest\'s CR3' : `exits (${exit('CR_ACCESS')}) so the guest sees its own CR3, not the shadow root`)
        : 'no exit: returns the read shadow';
    }
    out[mode] = text ?? (mode === 'none' ? (form.privilege === 'cpl0' ? 'runs at the guest\'s true ring 0' : 'runs natively') : 'runs natively in the guest');
  }
  return out;
}

/** Does a form deserve the privileged-line decoration? (CPL 0 only, or IOPL-sensitive.) */
export function isPrivileged(form: InsnForm | undefined): boolean {
  return !!form && (form.privilege === 'cpl0' || form.privilege === 'iopl');
}

/** The instruction part of a source line: label and comment removed; undefined for directives. */
export function instructionText(line: string): string | undefined {
  let s = line;
  // Strip a comment outside strings.
  let quote = '';
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (quote) { if (c === quote) quote = ''; continue; }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === ';') { s = s.slice(0, k); break; }
  }
  s = s.replace(/^\s*[A-Za-z_.?$@%][\w.$#@~?%]*\s*:/, '');
  s = s.trim();
  if (!s || s.startsWith('%') || s.startsWith('[')) return undefined;
  return s;
}

/** Privileged instructions on each line of a source: [line index, form]. */
export function privilegedLines(text: string): { line: number; form: InsnForm; start: number; end: number }[] {
  const out: { line: number; form: InsnForm; start: number; end: number }[] = [];
  const lines = text.split(/\r?\n/);
  let inMacro = 0;
  lines.forEach((l, k) => {
    if (/^\s*%\s*i?macro\b/i.test(l)) inMacro++;
    else if (/^\s*%\s*endmacro\b/i.test(l)) inMacro = Math.max(0, inMacro - 1);
    const t = instructionText(l);
    if (!t) return;
    const form = classify(t);
    if (!isPrivileged(form)) return;
    const start = l.toLowerCase().indexOf(form!.mnemonic);
    out.push({ line: k, form: form!, start, end: start + form!.mnemonic.length });
  });
  return out;
}

/** The hover's first line, e.g. "MOV to CR3 — CPL 0 only. vtx+ept: no exit by default. ..." */
export function summary(form: InsnForm): string {
  const b = behaviour(form);
  const priv = form.privilege === 'cpl0' ? 'CPL 0 only' : form.privilege === 'iopl' ? 'IOPL-sensitive' : form.privilege === 'sensitive' ? 'sensitive, unprivileged' : 'any CPL';
  const parts = [`${form.title} — ${priv}.`];
  for (const m of ['vtx+ept', 'vtx+shadow', 'trap-and-emulate'] as const) parts.push(`${m}: ${b[m]}.`);
  return parts.join(' ');
}
