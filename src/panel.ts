// The hypervisor panel's host side: a webview whose page (dist/panel.js, from media/) renders what
// the adapter's ringside/* requests answer. Data is fetched on every stop; while the guest runs the
// panel shows that and refreshes the vCPU state at most once a second.
import * as vscode from 'vscode';
import * as path from 'node:path';
import type {
  RingsideCpuState, RingsidePageTables, RingsideEpt, RingsideShadow, RingsideExits, RingsideVmcs, RingsideTranslationCache,
  RingsideHypercalls, RingsideTranslation, RingsideUnavailable,
} from '../adapter/dap/protocol';
import type { ToPanel, FromPanel, PanelData, MappingColumns, TabId } from '../media/messages';
import { MAP_FLAG } from '../media/messages';
import { absentInMode } from '../media/modes';
import { findExitReason } from '../adapter/hypervisor/exitreasons';
import type { GuestSessions, GuestSnapshot } from './guestsessions';

export const SHOW_PANEL = 'ringside.showHypervisorPanel';
const hex = (n: number) => '0x' + (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
const ranges = (n: number) => `${n.toLocaleString('en-US')} range${n === 1 ? '' : 's'}`;

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let k = 0; k < 32; k++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** The mode a session runs, "vtx+ept" style, from its launch configuration. */
export function sessionMode(s: vscode.DebugSession): { virtualization: string; memoryVirtualization?: string } {
  const v = String(s.configuration.virtualization ?? 'none');
  const mem = v === 'vtx' ? String(s.configuration.memoryVirtualization ?? 'ept') : v === 'none' ? undefined : 'shadow';
  return { virtualization: v, memoryVirtualization: mem };
}

export function pageTableColumns(p: RingsidePageTables): MappingColumns {
  const n = p.mappings.length;
  const c: MappingColumns = { from: new Array(n), to: new Array(n), size: new Array(n), flags: new Array(n), truncated: p.truncated,
    title: p.paging === 'off' ? 'paging is off: linear addresses are guest-physical' : `CR3 ${hex(p.cr3)}, ${p.paging} paging, ${ranges(n)} (contiguous pages merged)` };
  p.mappings.forEach((m, k) => {
    c.from[k] = m.linear; c.to[k] = m.physical; c.size[k] = m.size;
    c.flags[k] = (m.writable ? MAP_FLAG.W : 0) | (m.user ? MAP_FLAG.U : 0) | (m.nx ? MAP_FLAG.NX : 0) | (m.global ? MAP_FLAG.G : 0);
  });
  return c;
}

function eptColumns(e: RingsideEpt): MappingColumns {
  const n = e.mappings.length;
  const c: MappingColumns = { from: [], to: [], size: [], flags: [], extra: [], truncated: e.truncated, title: `EPTP ${hex(e.eptp)}, ${ranges(n)} GPA → HPA` };
  for (const m of e.mappings) {
    c.from.push(m.gpa); c.to.push(m.hpa); c.size.push(m.size);
    c.flags.push((m.read ? MAP_FLAG.R : 0) | (m.write ? MAP_FLAG.W : 0) | (m.execute ? MAP_FLAG.X : 0) | (m.accessed ? MAP_FLAG.A : 0) | (m.dirty ? MAP_FLAG.D : 0) | (m.pageSize > 4096 ? MAP_FLAG.LARGE : 0));
    c.extra!.push(`${m.memoryType}, ${m.pageSize >= 1 << 30 ? '1 GiB' : m.pageSize >= 1 << 21 ? '2 MiB' : '4 KiB'} pages`);
  }
  return c;
}

function shadowColumns(s: RingsideShadow): MappingColumns {
  const n = s.mappings.length;
  const c: MappingColumns = { from: [], to: [], size: [], flags: [], extra: [], via: [], truncated: s.truncated, title: `shadow root at HPA ${hex(s.root)}, ${ranges(n)} GVA → GPA → HPA` };
  for (const m of s.mappings) {
    c.from.push(m.gva); c.to.push(m.hpa); c.size.push(m.size);
    c.flags.push((m.writable ? MAP_FLAG.W : 0) | (m.user ? MAP_FLAG.U : 0) | (m.writeProtected ? MAP_FLAG.WP : 0) | (m.outOfSync ? MAP_FLAG.OOS : 0));
    c.via!.push(m.gpa);
    c.extra!.push(`${hex(m.guestPte)} @ ${hex(m.guestPteAddress)}`);
  }
  return c;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class HypervisorPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private ready = false;
  private pending: ToPanel[] = [];
  private lastPoll = 0;
  private pollTimer?: ReturnType<typeof setInterval>;
  private fetching?: Promise<void>;
  private readonly subs: vscode.Disposable[] = [];
  /** The last data posted (the extension tests read it). */
  lastData: PanelData = {};
  lastTranslation?: RingsideTranslation;
  /** The refreshes made while the guest ran: when, and the retired-instruction count seen. */
  readonly polls: { at: number; icount: number }[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly sessions: GuestSessions) {
    this.subs.push(
      sessions.onDidChange((s) => this.onSession(s)),
      vscode.debug.onDidChangeBreakpoints(() => this.postExitBreakpoints()),
      sessions.onDidStart(() => {
        if (vscode.workspace.getConfiguration('ringside.hypervisorPanel').get<boolean>('openOnSessionStart', true)) this.show(true);
      }),
    );
  }

  get visible(): boolean { return !!this.panel?.visible; }

  show(preserveFocus = false, tab?: TabId): void {
    if (this.panel) {
      this.panel.reveal(this.panel.viewColumn ?? vscode.ViewColumn.Beside, preserveFocus);
    } else {
      this.ready = false;
      this.panel = vscode.window.createWebviewPanel('ringside.hypervisor', 'Ringside: Hypervisor', { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
      });
      this.panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'privileged-dark.svg');
      this.panel.webview.html = this.html(this.panel.webview);
      this.panel.webview.onDidReceiveMessage((m: FromPanel) => this.onMessage(m));
      this.panel.onDidDispose(() => { this.panel = undefined; this.ready = false; this.stopPolling(); });
    }
    if (tab) this.post({ type: 'showTab', tab });
  }

  private html(w: vscode.Webview): string {
    const n = nonce();
    const uri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    const csp = [`default-src 'none'`, `style-src ${w.cspSource}`, `font-src ${w.cspSource}`, `img-src ${w.cspSource} data:`, `script-src 'nonce-${n}'`].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('dist', 'codicons', 'codicon.css')}">
<link rel="stylesheet" href="${uri('media', 'panel.css')}">
<title>Ringside: Hypervisor</title>
</head>
<body>
<script nonce="${n}" src="${uri('dist', 'panel.js')}"></script>
</body>
</html>`;
  }

  /** The exit reasons that have an enabled `vmexit` breakpoint: the Exits tab marks them. */
  private postExitBreakpoints(): void {
    if (!this.panel) return;
    this.post({ type: 'exitBreakpoints', reasons: [...new Set(exitBreakpoints().filter((b) => b.bp.enabled).map((b) => b.reason))] });
  }

  private post(m: ToPanel): void {
    if (!this.panel) return;
    if (!this.ready && m.type !== 'showTab') { this.pending.push(m); return; }
    void this.panel.webview.postMessage(m);
  }

  private stateMessage(s: GuestSnapshot | undefined): ToPanel {
    if (!s) return { type: 'state', run: 'none' };
    const mode = sessionMode(s.session);
    return { type: 'state', run: s.run, session: s.session.name, ...mode, reason: s.reason, cpu: s.cpu, program: String(s.session.configuration.program ?? '') };
  }

  private onSession(s: GuestSnapshot): void {
    if (s !== this.sessions.current()) return;
    this.post(this.stateMessage(s));
    if (s.run === 'stopped') { this.stopPolling(); void this.refresh(); }
    else if (s.run === 'running') this.startPolling();
    else if (s.run === 'ended') this.stopPolling();
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    // While the guest runs: at most one refresh a second, and only of the vCPU state.
    this.pollTimer = setInterval(() => void this.poll(), 1000);
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async poll(): Promise<void> {
    const s = this.sessions.current();
    if (!s || s.run !== 'running' || !this.panel) { this.stopPolling(); return; }
    if (Date.now() - this.lastPoll < 1000) return;
    this.lastPoll = Date.now();
    try {
      const cpu = (await s.session.customRequest('ringside/cpu')) as RingsideCpuState;
      this.polls.push({ at: Date.now(), icount: cpu.icount });
      if (this.polls.length > 20) this.polls.shift();
      if (this.sessions.current()?.run === 'running') this.post({ ...this.stateMessage(s), cpu } as ToPanel);
    } catch { /* the adapter answers only between run slices or when stopped */ }
  }

  /** Fetches every tab's data from the current session and posts it; a stop during a fetch fetches again after it. */
  refresh(): Promise<void> {
    if (this.fetching) {
      this.refetch ??= this.fetching.then(() => { this.refetch = undefined; return this.refresh(); });
      return this.refetch;
    }
    this.fetching = this.fetchAll().finally(() => { this.fetching = undefined; });
    return this.fetching;
  }
  private refetch?: Promise<void>;

  private async fetchAll(): Promise<void> {
    const s = this.sessions.current();
    if (!s || s.run !== 'stopped') return;
    const session = s.session;
    const mode = sessionMode(session);
    const ask = async <T>(command: string, args?: unknown): Promise<T | RingsideUnavailable> => {
      try {
        return (await session.customRequest(command, args)) as T;
      } catch (e) {
        return { available: false, reason: `the adapter did not answer ${command}: ${errorText(e)}` };
      }
    };
    const optional = async <T, U>(what: Parameters<typeof absentInMode>[0], command: string, shape: (x: T) => U, args?: unknown): Promise<U | RingsideUnavailable> => {
      const absent = absentInMode(what, mode);
      const r = await ask<T>(command, args);
      if (r && typeof r === 'object' && (r as RingsideUnavailable).available === false) {
        return absent ? { available: false, reason: absent } : (r as RingsideUnavailable);
      }
      return shape(r as T);
    };
    const data: PanelData = {};
    const cpu = await ask<RingsideCpuState>('ringside/cpu');
    if (!('available' in cpu)) data.cpu = cpu;
    const pt = await ask<RingsidePageTables>('ringside/pagetables', { limit: 200000 });
    data.guestTables = 'available' in pt ? pt : pageTableColumns(pt);
    data.exits = await optional<RingsideExits, RingsideExits>('exits', 'ringside/exits', (x) => x, { recent: 200 });
    data.ept = await optional<RingsideEpt, MappingColumns>('ept', 'ringside/ept', (x) => { data.eptRaw = x; return eptColumns(x); }, { limit: 200000 });
    data.shadow = await optional<RingsideShadow, MappingColumns>('shadow', 'ringside/shadow', (x) => { data.shadowRaw = x; return shadowColumns(x); }, { limit: 200000 });
    data.vmcs = await optional<RingsideVmcs, RingsideVmcs>('vmcs', 'ringside/vmcs', (x) => x);
    data.tcache = await optional<RingsideTranslationCache, RingsideTranslationCache>('tcache', 'ringside/tcache', (x) => x);
    data.hypercalls = await optional<RingsideHypercalls, RingsideHypercalls>('hypercalls', 'ringside/hypercalls', (x) => x);
    delete data.eptRaw;
    delete data.shadowRaw;
    this.lastData = data;
    this.post({ type: 'data', data });
  }

  async translate(address: string): Promise<RingsideTranslation | undefined> {
    const s = this.sessions.current();
    if (!s) { this.post({ type: 'translation', address, error: 'no Ringside session' }); return undefined; }
    try {
      const r = (await s.session.customRequest('ringside/translate', { address })) as RingsideTranslation;
      this.lastTranslation = r;
      this.post({ type: 'translation', address, result: r });
      return r;
    } catch (e) {
      this.post({ type: 'translation', address, error: errorText(e) });
      return undefined;
    }
  }

  private async onMessage(m: FromPanel): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        for (const p of this.pending.splice(0)) void this.panel?.webview.postMessage(p);
        void this.panel?.webview.postMessage(this.stateMessage(this.sessions.current()));
        if (this.sessions.current()?.run === 'stopped') void this.refresh();
        this.postExitBreakpoints();
        break;
      case 'refresh':
        void this.refresh();
        break;
      case 'translate':
        void this.translate(m.address);
        break;
      case 'reveal':
        await revealAddress(this.sessions.current()?.session, m.address);
        break;
      case 'breakOnExit': {
        // A function breakpoint the adapter reads as "stop on VM exit <reason>"; a second click removes it.
        const existing = exitBreakpoints().filter((b) => b.reason === m.reason).map((b) => b.bp);
        if (existing.length) {
          vscode.debug.removeBreakpoints(existing);
          vscode.window.setStatusBarMessage(`Ringside: removed the breakpoint on VM exit ${m.reason} ${m.name}`, 4000);
        } else {
          vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(`vmexit ${m.name}`)]);
          vscode.window.setStatusBarMessage(`Ringside: the guest stops on every VM exit ${m.reason} ${m.name} (function breakpoint "vmexit ${m.name}" in the Breakpoints view)`, 4000);
        }
        break;
      }
      case 'rangeQuery': {
        const s = this.sessions.current();
        if (!s || s.run !== 'stopped' || m.table !== 'guest') break;
        try {
          const pt = (await s.session.customRequest('ringside/pagetables', { from: m.from, to: m.to, limit: 200000 })) as RingsidePageTables;
          this.post({ type: 'data', data: { guestTables: pageTableColumns(pt) } });
        } catch { /* the full list stays */ }
        break;
      }
      case 'tab':
        break;
    }
  }

  dispose(): void {
    this.stopPolling();
    this.panel?.dispose();
    for (const s of this.subs) s.dispose();
  }
}

/** Function breakpoints named `vmexit NAME` / `vmexit NUMBER`, with the reason number they stand for. */
function exitBreakpoints(): { bp: vscode.FunctionBreakpoint; reason: number }[] {
  const out: { bp: vscode.FunctionBreakpoint; reason: number }[] = [];
  for (const bp of vscode.debug.breakpoints) {
    if (!(bp instanceof vscode.FunctionBreakpoint)) continue;
    const m = /^vm-?exit\s+(.+)$/i.exec(bp.functionName.trim());
    const r = m ? findExitReason(m[1]) : undefined;
    if (r) out.push({ bp, reason: r.number });
  }
  return out;
}

/** Opens the source line of a guest address, or the disassembly view when it has none. */
export async function revealAddress(session: vscode.DebugSession | undefined, address: number): Promise<void> {
  if (!session) return;
  try {
    const r = (await session.customRequest('disassemble', { memoryReference: '0x' + address.toString(16), instructionCount: 1 })) as { instructions?: { line?: number; location?: { path?: string } }[] };
    const ins = r.instructions?.[0];
    if (ins?.location?.path && ins.line) {
      const doc = await vscode.workspace.openTextDocument(ins.location.path);
      const pos = new vscode.Position(ins.line - 1, 0);
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.One });
      return;
    }
  } catch { /* fall through to the disassembly view */ }
  await vscode.commands.executeCommand('debug.action.openDisassemblyView');
  void vscode.window.setStatusBarMessage(`Ringside: ${path.basename(String(session.configuration.program ?? ''))} has no source line at 0x${address.toString(16)}`, 4000);
}
