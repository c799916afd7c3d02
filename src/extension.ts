// Ringside's VS Code extension: F5 on a guest, the debug adapter as a separate Node process, the
// hypervisor panel, the rings view and the guest-asm language features.
import * as vscode from 'vscode';
import { AdapterProcessFactory } from './adapterprocess';
import { DEBUG_TYPE, GuestConfigurationProvider, DEFAULT_VIRTUALIZATION, dynamicConfigurations } from './configuration';
import { GuestSessions } from './guestsessions';
import { NasmProblems } from './nasmproblems';
import { HypervisorPanel, SHOW_PANEL } from './panel';
import { RingsView } from './rings';
import { registerLanguageFeatures } from './language/editor';

/** What activate() returns: handles the extension-host tests use to look inside. */
export interface RingsideApi {
  sessions: GuestSessions;
  panel: HypervisorPanel;
  rings: RingsView;
  nasmProblems: NasmProblems;
  defaultVirtualization: typeof DEFAULT_VIRTUALIZATION;
}

export function activate(context: vscode.ExtensionContext): RingsideApi {
  const sessions = new GuestSessions();
  const nasmProblems = new NasmProblems();
  const panel = new HypervisorPanel(context.extensionUri, sessions);
  const rings = new RingsView(sessions);
  const provider = new GuestConfigurationProvider();
  context.subscriptions.push(
    sessions,
    nasmProblems,
    panel,
    rings,
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new AdapterProcessFactory(context.extensionPath)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider),
    // The Run and Debug dropdown's dynamic entries: boot whichever guest file is open.
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { provideDebugConfigurations: () => dynamicConfigurations() }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    // Launch failures the adapter reports need nothing here: VS Code shows them in a dialog with an
    // "Open launch.json" button. nasm's errors also go to the Problems panel.
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, { createDebugAdapterTracker: () => nasmProblems.tracker() }),
    vscode.commands.registerCommand(SHOW_PANEL, () => panel.show(false)),
    vscode.commands.registerCommand('ringside.showRings', () => vscode.commands.executeCommand(`${'ringside.rings'}.focus`)),
  );
  // The rings view stays in the Run and Debug sidebar once a Ringside session has run.
  context.subscriptions.push(sessions.onDidStart(() => void vscode.commands.executeCommand('setContext', 'ringside.hadSession', true)));
  registerLanguageFeatures(context);
  return { sessions, panel, rings, nasmProblems, defaultVirtualization: DEFAULT_VIRTUALIZATION };
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
