// Whether a mode that runs the guest's own instructions at their own privilege (vtx with EPT or
// shadow paging, binary translation) agrees with plain emulation: same end, status, retired
// instructions, idle time and console bytes. The one explained difference: the hypervisor stops
// the guest on a feature it says it does not support, after the same output up to that point.
import { firstDifference, summary, type Mode, type Outcome, type RunnableGuest } from './run';
import { findParting } from './lockstep';

export type Verdict = { kind: 'same' } | { kind: 'unsupported'; why: string } | { kind: 'diverged'; why: string };

const hex = (s: string) => [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');

export function compare(base: Outcome, other: Outcome): Verdict {
  if (summary(base) === summary(other) && base.output === other.output) return { kind: 'same' };
  if (other.end === 'hypervisor-stop' && /not supported/.test(other.message) && base.output.startsWith(other.output))
    return { kind: 'unsupported', why: other.message };
  const at = firstDifference(base.output, other.output);
  const detail = at < 0 ? 'same output'
    : `output differs at byte ${at} (none: ${hex(base.output.slice(at, at + 8))} at icount ${base.outputAt[at] ?? '-'}; ` +
      `this mode: ${hex(other.output.slice(at, at + 8))} at icount ${other.outputAt[at] ?? '-'})`;
  return { kind: 'diverged', why: `none: ${summary(base)} (${base.message}); this mode: ${summary(other)} (${other.message}); ${detail}` };
}

export type Judgement = Verdict | { kind: 'stale-translation'; why: string } | { kind: 'vmx-instruction'; why: string };

/**
 * compare(), and for a disagreement a rerun in lockstep with TLBs kept coherent with the page tables
 * (lockstep.ts): runs that then never part disagreed only where the architecture lets a stale
 * translation be used, which is no bug; runs that part at a VMX instruction met the hypervisor
 * (a VMCALL is a hypercall under vtx, #UD on bare hardware); runs that part elsewhere are a real
 * divergence, reported with the first instruction where they do.
 */
export function judge(g: RunnableGuest, mode: Mode, base: Outcome, other: Outcome, maxInstructions: number): Judgement {
  const v = compare(base, other);
  if (v.kind !== 'diverged') return v;
  const p = findParting(g, mode, maxInstructions, true);
  if (!p) return { kind: 'stale-translation', why: `${v.why}; with coherent TLBs the runs agree` };
  // VMCALL and the other VMX instructions: #UD on bare hardware, a VM exit under a hypervisor.
  if (p.vmx && mode !== 'binary-translation') return { kind: 'vmx-instruction', why: `the runs part at ${p.insn} (icount ${p.icount})` };
  return { kind: 'diverged', why: `${v.why}; first difference (coherent TLBs) at icount ${p.icount} after ${p.insn}: ${p.what}` };
}
