// The debug adapter runs as its own Node process (dist/adapter.js): the guest never executes on the
// extension host's thread, so a busy guest cannot slow VS Code down.
import * as vscode from 'vscode';
import * as path from 'node:path';

export class AdapterProcessFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly extensionPath: string) {}

  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const script = path.join(this.extensionPath, 'dist', 'adapter.js');
    const configured = vscode.workspace.getConfiguration('ringside').get<string>('nodePath');
    if (configured) return new vscode.DebugAdapterExecutable(configured, [script]);
    // The extension host's own runtime: Node in a remote or web-served workbench, Electron on the
    // desktop, where ELECTRON_RUN_AS_NODE makes it behave as plain Node.
    return new vscode.DebugAdapterExecutable(process.execPath, [script], { env: { ELECTRON_RUN_AS_NODE: '1' } });
  }
}
