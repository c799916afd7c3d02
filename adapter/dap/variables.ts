// Variable references for DAP: inspector trees handed out as numbered handles (reset at every stop),
// values formatted hex by default and decimal on request.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { VarNode } from '../debugger/inspect';

export function formatNumber(v: number | bigint, bits: number | undefined, hex: boolean): string {
  if (typeof v === 'bigint') return hex ? '0x' + v.toString(16).padStart(Math.ceil((bits ?? 64) / 4), '0') : v.toString();
  if (!hex || bits === 1) return String(v >>> 0);
  if (bits === 2) return String(v);
  return '0x' + (v >>> 0).toString(16).padStart(Math.ceil((bits ?? 32) / 4), '0');
}

export function formatValue(n: VarNode, hex: boolean): string {
  const v = typeof n.value === 'string' ? n.value : formatNumber(n.value, n.bits, hex);
  return n.detail ? `${v} (${n.detail})` : v;
}

export function memoryReference(m: VarNode['memory']): string | undefined {
  if (!m) return undefined;
  return m.space === 'physical' ? `phys:0x${(m.address >>> 0).toString(16)}` : `0x${(m.address >>> 0).toString(16)}`;
}

/** Parses memory references: "0x1234" / "1234" (linear) or "phys:0x1234". */
export function parseMemoryReference(ref: string): { space: 'linear' | 'physical'; address: number } | undefined {
  const m = /^(phys:|lin:)?(0x)?([0-9a-f]+)$/i.exec(ref.trim());
  if (!m) return undefined;
  const address = parseInt(m[3], m[2] || m[1] ? 16 : 16) >>> 0;
  return { space: m[1]?.toLowerCase() === 'phys:' ? 'physical' : 'linear', address };
}

export class VariableHandles {
  private next = 1;
  private readonly producers = new Map<number, () => VarNode[]>();
  /** Nodes produced for a reference, kept for setVariable and dataBreakpointInfo. */
  private readonly produced = new Map<number, VarNode[]>();

  reset(): void {
    this.next = 1;
    this.producers.clear();
    this.produced.clear();
  }

  add(f: () => VarNode[]): number {
    const id = this.next++;
    this.producers.set(id, f);
    return id;
  }

  nodes(ref: number): VarNode[] | undefined {
    const have = this.produced.get(ref);
    if (have) return have;
    const f = this.producers.get(ref);
    if (!f) return undefined;
    const list = f();
    this.produced.set(ref, list);
    return list;
  }

  /** Forget computed values (after a write) but keep the references valid. */
  invalidate(): void {
    this.produced.clear();
  }

  variables(ref: number, hex: boolean, start = 0, count = 0): DebugProtocol.Variable[] {
    const list = this.nodes(ref) ?? [];
    const slice = count > 0 ? list.slice(start, start + count) : list.slice(start);
    return slice.map((n) => this.toVariable(n, hex));
  }

  toVariable(n: VarNode, hex: boolean): DebugProtocol.Variable {
    const v: DebugProtocol.Variable = { name: n.name, value: formatValue(n, hex), variablesReference: n.children ? this.add(n.children) : 0 };
    const mr = memoryReference(n.memory);
    if (mr) v.memoryReference = mr;
    if (n.evaluateName) v.evaluateName = n.evaluateName;
    if (!n.set) v.presentationHint = { attributes: ['readOnly'] };
    return v;
  }
}
