// The rings view in the Run and Debug sidebar: per vCPU the four privilege rings with the current one
// marked (and, under trap-and-emulate, the ring the guest believes it is in beside the real one),
// VMX root or non-root, and the recent ring transitions with their cause. Fed by the vCPU state the
// adapter pushes on each stop (ringside/state).
import * as vscode from 'vscode';
import type { RingsideCpuState } from '../adapter/dap/protocol';
import type { GuestSessions } from './guestsessions';
import { vmxText } from '../media/modes';

export const RINGS_VIEW = 'ringside.rings';

const RING_ROLE = ['kernel', 'driver / monitor', 'driver', 'user'];

interface Node {
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon?: vscode.ThemeIcon;
  children?: Node[];
  expanded?: boolean;
}

const hex = (n: number) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

/** The tree for one vCPU's state (pure: tested without a workbench). */
export function ringNodes(cpu: RingsideCpuState, run: string): Node[] {
  const deprivileged = cpu.guestRing !== cpu.cpl;
  const rings: Node[] = [0, 1, 2, 3].map((r) => {
    const real = r === cpu.cpl, believed = deprivileged && r === cpu.guestRing;
    const marks = [real ? 'current' : '', believed ? 'the guest believes it runs here' : ''].filter(Boolean).join('; ');
    return {
      id: `ring${r}`,
      label: `Ring ${r}`,
      description: `${RING_ROLE[r]}${marks ? ' — ' + marks : ''}`,
      icon: new vscode.ThemeIcon(real ? 'circle-filled' : believed ? 'circle-large-outline' : 'circle-outline', real ? new vscode.ThemeColor('debugIcon.startForeground') : believed ? new vscode.ThemeColor('charts.orange') : undefined),
      tooltip: real ? `CPL ${cpu.cpl}: the CPU executes at ring ${r}` : believed ? `Under ${cpu.virtualization} the guest kernel is deprivileged: it believes it is at ring ${r}, but runs at ring ${cpu.cpl}` : undefined,
    };
  });
  const transitions: Node[] = [...cpu.transitions].reverse().map((t, k) => ({
    id: `t${cpu.transitions.length - k}`,
    label: `${t.from} → ${t.to}`,
    description: `${t.cause} at ${hex(t.eip)}, instruction ${t.icount.toLocaleString('en-US')}`,
    icon: new vscode.ThemeIcon(t.to < t.from ? 'arrow-down' : 'arrow-up'),
  }));
  const vmx = vmxText(cpu.virtualization, cpu.vmx);
  return [{
    id: `vcpu${cpu.vcpu}`,
    label: `vCPU ${cpu.vcpu}`,
    description: `${run === 'running' ? 'running' : `ring ${cpu.cpl}`}${deprivileged ? ` (guest believes ${cpu.guestRing})` : ''} · ${cpu.mode}`,
    icon: new vscode.ThemeIcon('chip'),
    expanded: true,
    children: [
      { id: 'rings', label: 'Rings', description: deprivileged ? `real ${cpu.cpl}, believed ${cpu.guestRing}` : `CPL ${cpu.cpl}`, expanded: true, icon: new vscode.ThemeIcon('layers'), children: rings },
      { id: 'vmx', label: 'VMX', description: vmx, icon: new vscode.ThemeIcon('vm') },
      { id: 'eip', label: 'At', description: `${hex(cpu.pc)}${cpu.location ? ' ' + cpu.location : ''}`, icon: new vscode.ThemeIcon('location') },
      { id: 'transitions', label: 'Recent ring transitions', description: transitions.length ? `${transitions.length}` : 'none yet', expanded: true, icon: new vscode.ThemeIcon('history'), children: transitions },
    ],
  }];
}

export class RingsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Node[] = [];
  private readonly subs: vscode.Disposable[] = [];
  readonly view: vscode.TreeView<Node>;

  constructor(private readonly sessions: GuestSessions) {
    this.view = vscode.window.createTreeView(RINGS_VIEW, { treeDataProvider: this, showCollapseAll: true });
    this.subs.push(this.view, this.changed, sessions.onDidChange(() => this.update()));
    this.update();
  }

  private update(): void {
    const s = this.sessions.current();
    this.roots = s?.cpu ? ringNodes(s.cpu, s.run) : [];
    this.view.message = !s ? 'Start a Ringside debug session to see the vCPU rings.' : !s.cpu ? 'Waiting for the guest to stop…' : s.run === 'running' ? 'Running: showing the state at the last stop.' : undefined;
    this.changed.fire(undefined);
  }

  /** Labels of the tree, flattened (for tests). */
  snapshot(): string[] {
    const out: string[] = [];
    const walk = (n: Node, depth: number) => { out.push(`${'  '.repeat(depth)}${n.label}${n.description ? ' — ' + n.description : ''}`); n.children?.forEach((c) => walk(c, depth + 1)); };
    this.roots.forEach((r) => walk(r, 0));
    return out;
  }

  getTreeItem(n: Node): vscode.TreeItem {
    const item = new vscode.TreeItem(n.label, n.children?.length ? (n.expanded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed) : vscode.TreeItemCollapsibleState.None);
    item.id = n.id;
    item.description = n.description;
    item.tooltip = n.tooltip ?? (n.description ? `${n.label}: ${n.description}` : n.label);
    item.iconPath = n.icon;
    return item;
  }

  getChildren(n?: Node): Node[] {
    return n ? n.children ?? [] : this.roots;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }
}
