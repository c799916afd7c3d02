// Follows Ringside debug sessions through the messages between VS Code and the adapter: whether the
// guest runs or is stopped, and the vCPU state the adapter pushes on each stop (ringside/state).
import * as vscode from 'vscode';
import type { RingsideCpuState } from '../adapter/dap/protocol';
import { DEBUG_TYPE } from './configuration';

export type GuestRunState = 'starting' | 'running' | 'stopped' | 'ended';

export interface GuestSnapshot {
  session: vscode.DebugSession;
  run: GuestRunState;
  cpu?: RingsideCpuState;
  /** Why it last stopped (the stopped event's description). */
  reason?: string;
}

const RESUMING = new Set(['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'goto']);

export class GuestSessions implements vscode.Disposable {
  private readonly snapshots = new Map<string, GuestSnapshot>();
  private readonly changed = new vscode.EventEmitter<GuestSnapshot>();
  private readonly started = new vscode.EventEmitter<vscode.DebugSession>();
  /** Fires on every change of run state or pushed CPU state. */
  readonly onDidChange = this.changed.event;
  /** Fires when a Ringside session starts. */
  readonly onDidStart = this.started.event;
  private readonly subs: vscode.Disposable[] = [];

  constructor() {
    this.subs.push(
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, { createDebugAdapterTracker: (s) => this.tracker(s) }),
      vscode.debug.onDidStartDebugSession((s) => {
        if (s.type !== DEBUG_TYPE) return;
        const snap: GuestSnapshot = { session: s, run: 'starting' };
        this.snapshots.set(s.id, snap);
        this.started.fire(s);
        this.changed.fire(snap);
      }),
      vscode.debug.onDidTerminateDebugSession((s) => this.update(s, { run: 'ended' })),
      vscode.debug.onDidChangeActiveDebugSession((s) => { const snap = this.current(); if (s?.type === DEBUG_TYPE && snap) this.changed.fire(snap); }),
      this.changed,
      this.started,
    );
  }

  /** The session a view should show: the active one if it is Ringside's, else the latest live one. */
  current(): GuestSnapshot | undefined {
    const a = vscode.debug.activeDebugSession;
    if (a?.type === DEBUG_TYPE) return this.snapshots.get(a.id);
    const live = [...this.snapshots.values()].filter((s) => s.run !== 'ended');
    return live[live.length - 1] ?? [...this.snapshots.values()].pop();
  }

  private update(session: vscode.DebugSession, patch: Partial<GuestSnapshot>): void {
    if (session.type !== DEBUG_TYPE) return;
    const snap = this.snapshots.get(session.id) ?? { session, run: 'starting' as GuestRunState };
    Object.assign(snap, patch);
    this.snapshots.set(session.id, snap);
    this.changed.fire(snap);
  }

  private tracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    return {
      onWillReceiveMessage: (m: { type?: string; command?: string }) => {
        if (m.type === 'request' && m.command && RESUMING.has(m.command)) this.update(session, { run: 'running' });
      },
      onDidSendMessage: (m: { type?: string; event?: string; body?: Record<string, unknown> }) => {
        if (m.type !== 'event') return;
        if (m.event === 'stopped') this.update(session, { run: 'stopped', reason: String(m.body?.description ?? m.body?.reason ?? '') });
        else if (m.event === 'continued') this.update(session, { run: 'running' });
        else if (m.event === 'ringside/state') this.update(session, { cpu: m.body as unknown as RingsideCpuState });
        else if (m.event === 'terminated' || m.event === 'exited') this.update(session, { run: 'ended' });
      },
      onExit: () => this.update(session, { run: 'ended' }),
    };
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
  }
}
