// guest-asm editor features: hover on a mnemonic (what it needs, what each virtualization mode does
// with it), a gutter mark and background on lines holding privileged instructions, and a CodeLens
// plus command that put a breakpoint on every privileged instruction of the file.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { classify, behaviour, summary, instructionText, privilegedLines, MODES, PRIVILEGE_TEXT, MNEMONICS } from './virtualization';
import { describe } from './descriptions';

export const LANGUAGE_ID = 'guest-asm';
const SELECTOR: vscode.DocumentSelector = [{ language: LANGUAGE_ID }];

export class GuestAsmHover implements vscode.HoverProvider {
  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const range = doc.getWordRangeAtPosition(pos, /[A-Za-z][A-Za-z0-9_]*/);
    if (!range) return undefined;
    const word = doc.getText(range).toLowerCase();
    if (!MNEMONICS[word]) return undefined;
    const line = doc.lineAt(pos.line).text;
    const insn = instructionText(line);
    // Only the mnemonic position counts: a label or operand that happens to spell one is not it.
    if (!insn || !new RegExp(`^(?:(?:rep\\w*|lock)\\s+)*${word}\\b`, 'i').test(insn)) return undefined;
    const form = classify(insn);
    if (!form) return undefined;
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${form.title}** — ${describe(word)}. *${PRIVILEGE_TEXT[form.privilege]}.*\n\n`);
    md.appendText(summary(form) + '\n');
    const b = behaviour(form);
    md.appendMarkdown('\n| mode | what happens |\n|---|---|\n');
    for (const m of MODES) md.appendMarkdown(`| \`${m}\` | ${b[m].replace(/\|/g, '\\|')} |\n`);
    return new vscode.Hover(md, range);
  }
}

/** Gutter icon and background on privileged lines; both can be turned off in settings. */
export class PrivilegedLineDecorations implements vscode.Disposable {
  private type?: vscode.TextEditorDecorationType;
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri) {
    this.makeType();
    this.subs.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshAll()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        for (const ed of vscode.window.visibleTextEditors) if (ed.document === e.document) this.refresh(ed);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ringside.privilegedLines')) { this.makeType(); this.refreshAll(); }
      }),
    );
    this.refreshAll();
  }

  private makeType(): void {
    this.type?.dispose();
    const cfg = vscode.workspace.getConfiguration('ringside.privilegedLines');
    const icon = cfg.get<boolean>('gutterIcon', true);
    const background = cfg.get<boolean>('background', true);
    const opts: vscode.DecorationRenderOptions = { isWholeLine: true, overviewRulerLane: vscode.OverviewRulerLane.Left };
    if (background) opts.backgroundColor = new vscode.ThemeColor('ringside.privilegedLineBackground');
    if (icon) {
      opts.light = { gutterIconPath: vscode.Uri.joinPath(this.extensionUri, 'media', 'privileged-light.svg'), gutterIconSize: '70%' };
      opts.dark = { gutterIconPath: vscode.Uri.joinPath(this.extensionUri, 'media', 'privileged-dark.svg'), gutterIconSize: '70%' };
    }
    opts.overviewRulerColor = new vscode.ThemeColor('ringside.privilegedLineRuler');
    this.type = vscode.window.createTextEditorDecorationType(opts);
  }

  private refreshAll(): void {
    for (const ed of vscode.window.visibleTextEditors) this.refresh(ed);
  }

  refresh(editor: vscode.TextEditor): void {
    if (!this.type) return;
    if (editor.document.languageId !== LANGUAGE_ID) return;
    const enabled = vscode.workspace.getConfiguration('ringside.privilegedLines').get<boolean>('enabled', true);
    const ranges = enabled ? privilegedLines(editor.document.getText()).map((p) => ({
      range: new vscode.Range(p.line, 0, p.line, 0),
      hoverMessage: `Privileged: ${p.form.title}`,
    })) : [];
    editor.setDecorations(this.type, ranges);
  }

  dispose(): void {
    this.type?.dispose();
    for (const s of this.subs) s.dispose();
  }
}

/** The privileged lines of a document that do not yet carry a breakpoint. */
function privilegedBreakpointState(doc: vscode.TextDocument): { lines: number[]; missing: number[] } {
  const lines = [...new Set(privilegedLines(doc.getText()).map((p) => p.line))];
  const have = new Set(vscode.debug.breakpoints
    .filter((b): b is vscode.SourceBreakpoint => b instanceof vscode.SourceBreakpoint && b.location.uri.toString() === doc.uri.toString())
    .map((b) => b.location.range.start.line));
  return { lines, missing: lines.filter((l) => !have.has(l)) };
}

export const BREAK_ON_PRIVILEGED = 'ringside.breakOnPrivilegedInFile';
export const CLEAR_PRIVILEGED = 'ringside.clearPrivilegedBreakpointsInFile';

/** Adds a breakpoint on every privileged line of the document; returns how many were added. */
export function breakOnPrivileged(doc: vscode.TextDocument): number {
  const { missing } = privilegedBreakpointState(doc);
  vscode.debug.addBreakpoints(missing.map((l) => new vscode.SourceBreakpoint(new vscode.Location(doc.uri, new vscode.Position(l, 0)))));
  return missing.length;
}

export function clearPrivileged(doc: vscode.TextDocument): number {
  const lines = new Set(privilegedLines(doc.getText()).map((p) => p.line));
  const mine = vscode.debug.breakpoints.filter((b): b is vscode.SourceBreakpoint => b instanceof vscode.SourceBreakpoint
    && b.location.uri.toString() === doc.uri.toString() && lines.has(b.location.range.start.line));
  vscode.debug.removeBreakpoints(mine);
  return mine.length;
}

export class PrivilegedCodeLens implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor() {
    vscode.debug.onDidChangeBreakpoints(() => this.changed.fire());
    vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('ringside.privilegedLines.codeLens')) this.changed.fire(); });
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('ringside.privilegedLines').get<boolean>('codeLens', true)) return [];
    const { lines, missing } = privilegedBreakpointState(doc);
    if (!lines.length) return [];
    // Above the first privileged line (a lens above line 1 upsets the editor's first layout).
    const top = new vscode.Range(lines[0], 0, lines[0], 0);
    const lenses = [new vscode.CodeLens(top, missing.length
      ? { title: `$(debug-breakpoint) Break on privileged instructions in this file (${missing.length} of ${lines.length} lines)`, command: BREAK_ON_PRIVILEGED, arguments: [doc.uri] }
      : { title: `$(debug-breakpoint-disabled) Remove the breakpoints on ${lines.length} privileged lines`, command: CLEAR_PRIVILEGED, arguments: [doc.uri] })];
    return lenses;
  }
}

export function registerLanguageFeatures(context: vscode.ExtensionContext): void {
  const docFor = async (uri?: vscode.Uri) => (uri ? vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document);
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(SELECTOR, new GuestAsmHover()),
    vscode.languages.registerCodeLensProvider(SELECTOR, new PrivilegedCodeLens()),
    new PrivilegedLineDecorations(context.extensionUri),
    vscode.commands.registerCommand(BREAK_ON_PRIVILEGED, async (uri?: vscode.Uri) => {
      const doc = await docFor(uri);
      if (!doc) { void vscode.window.showInformationMessage('Ringside: open a guest assembly file first'); return 0; }
      const n = breakOnPrivileged(doc);
      vscode.window.setStatusBarMessage(`Ringside: ${n} breakpoints on privileged instructions in ${path.basename(doc.fileName)}`, 4000);
      return n;
    }),
    vscode.commands.registerCommand(CLEAR_PRIVILEGED, async (uri?: vscode.Uri) => {
      const doc = await docFor(uri);
      return doc ? clearPrivileged(doc) : 0;
    }),
  );
}
