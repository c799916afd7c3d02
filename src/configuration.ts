// Launch configurations: F5 with no launch.json boots the open guest file, "Add Configuration"
// offers one snippet per virtualization mode (package.json), and obvious mistakes are caught here
// with a message whose button opens launch.json.
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEBUG_TYPE = 'ringside';

/**
 * The virtualization a configuration gets when it names none. The one place to change when the
 * adapter accepts more modes: the hypervisor's VT-x with EPT is the intended default.
 */
export const DEFAULT_VIRTUALIZATION: { virtualization: string; memoryVirtualization?: string } = { virtualization: 'vtx', memoryVirtualization: 'ept' };

/** Files F5 can boot without a launch.json. */
export const GUEST_EXTENSIONS = ['.asm', '.nasm', '.img', '.bin', '.elf', '.ima', '.flp'];

const MODES = ['none', 'vtx', 'trap-and-emulate', 'binary-translation', 'paravirt'];

export function isGuestFile(file: string): boolean {
  return GUEST_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** The configuration F5 uses for a guest file when there is no launch.json. */
export function defaultConfiguration(program = '${file}'): vscode.DebugConfiguration {
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: 'Ringside: boot the open guest',
    program,
    ...DEFAULT_VIRTUALIZATION,
    stopOnEntry: true,
  };
}

function activeGuestFile(): string | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (doc && doc.uri.scheme === 'file' && isGuestFile(doc.fileName)) return doc.fileName;
  // Binary guests open in a custom or binary editor, not a text editor: use the active tab.
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tab && typeof tab === 'object' && 'uri' in tab) {
    const uri = (tab as { uri: vscode.Uri }).uri;
    if (uri.scheme === 'file' && isGuestFile(uri.fsPath)) return uri.fsPath;
  }
  return undefined;
}

/** One configuration per open guest file (the Run and Debug view's dynamic list). */
export function dynamicConfigurations(): vscode.DebugConfiguration[] {
  const files = new Set<string>();
  for (const g of vscode.window.tabGroups.all) for (const t of g.tabs) {
    const input = t.input as { uri?: vscode.Uri } | undefined;
    if (input?.uri?.scheme === 'file' && isGuestFile(input.uri.fsPath)) files.add(input.uri.fsPath);
  }
  return [...files].map((f) => ({ ...defaultConfiguration(f), name: `Ringside: boot ${path.basename(f)}` }));
}

/** Shows a launch problem with a button that opens launch.json (or creates it). */
export async function showLaunchError(message: string, folder?: vscode.WorkspaceFolder): Promise<void> {
  const open = 'Open launch.json';
  const choice = await vscode.window.showErrorMessage(`Ringside: ${message}`, open);
  if (choice === open) await openLaunchJson(folder);
}

async function openLaunchJson(folder?: vscode.WorkspaceFolder): Promise<void> {
  const f = folder ?? vscode.workspace.workspaceFolders?.[0];
  if (f) {
    const uri = vscode.Uri.joinPath(f.uri, '.vscode', 'launch.json');
    try {
      await vscode.workspace.fs.stat(uri);
      await vscode.window.showTextDocument(uri);
      return;
    } catch { /* not there yet: let VS Code create it */ }
  }
  await vscode.commands.executeCommand('debug.addConfiguration');
}

/** Checks what can be checked before the adapter starts; returns a message for the first problem. */
export function checkConfiguration(config: vscode.DebugConfiguration): string | undefined {
  if (config.request !== 'launch') return `"request" must be "launch" (Ringside boots guests; it does not attach)`;
  if (typeof config.program !== 'string' || !config.program.trim()) return `the configuration "${config.name ?? ''}" has no "program": the guest to boot (.asm/.nasm source, boot or disk image, flat binary, multiboot/ELF kernel)`;
  const cwd = typeof config.cwd === 'string' ? config.cwd : undefined;
  const program = path.isAbsolute(config.program) || !cwd ? config.program : path.join(cwd, config.program);
  if (path.isAbsolute(program) && !fs.existsSync(program)) return `"program" ${program} does not exist`;
  if (config.virtualization !== undefined && !MODES.includes(config.virtualization)) {
    return `"virtualization" must be one of ${MODES.map((m) => `"${m}"`).join(', ')} (got ${JSON.stringify(config.virtualization)})`;
  }
  return undefined;
}

export class GuestConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [defaultConfiguration()];
  }


  resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.ProviderResult<vscode.DebugConfiguration> {
    // F5 with no launch.json: VS Code hands over an empty configuration.
    if (!config.type && !config.request && !config.name) {
      const file = activeGuestFile();
      if (!file) {
        void showLaunchError('open a guest file (.asm, .nasm, .img, .bin or .elf) and press F5 again, or add a Ringside configuration to launch.json', folder);
        return undefined;
      }
      return defaultConfiguration(file);
    }
    config.type ??= DEBUG_TYPE;
    config.request ??= 'launch';
    config.name ??= 'Ringside';
    if (config.program === undefined) {
      const file = activeGuestFile();
      if (file) config.program = file;
    }
    if (config.virtualization === undefined) Object.assign(config, DEFAULT_VIRTUALIZATION);
    return config;
  }

  resolveDebugConfigurationWithSubstitutedVariables(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.ProviderResult<vscode.DebugConfiguration> {
    // A workbench served to a browser may substitute \${file} with a URI: the adapter wants a path.
    if (typeof config.program === 'string' && /^[a-z][\w+.-]*:\/\//i.test(config.program)) config.program = vscode.Uri.parse(config.program).path;
    if (typeof config.program === 'string' && !path.isAbsolute(config.program)) {
      const base = typeof config.cwd === 'string' ? config.cwd : folder?.uri.fsPath;
      if (base) config.program = path.join(base, config.program);
    }
    const problem = checkConfiguration(config);
    if (problem) {
      void showLaunchError(problem, folder);
      return undefined; // abort quietly: the message above says why
    }
    return config;
  }
}
