// nasm's errors and warnings in the Problems panel. The adapter sends each as an output event that
// carries its source file and line ("error: ..." / "warning: ..."); a tracker collects them.
import * as vscode from 'vscode';

interface OutputEventBody {
  output?: string;
  category?: string;
  source?: { path?: string };
  line?: number;
  column?: number;
}

export function parseNasmOutput(body: OutputEventBody): { file: string; line: number; severity: 'error' | 'warning'; message: string } | undefined {
  const file = body.source?.path;
  if (!file || !body.line || !body.output) return undefined;
  const m = /^\s*(error|warning|fatal)\s*:\s*([\s\S]*?)\s*$/i.exec(body.output);
  if (!m) return undefined;
  return { file, line: body.line, severity: m[1].toLowerCase() === 'warning' ? 'warning' : 'error', message: m[2] };
}

export class NasmProblems implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('nasm');

  tracker(): vscode.DebugAdapterTracker {
    let fresh = true;
    return {
      onDidSendMessage: (m: { type?: string; event?: string; body?: OutputEventBody }) => {
        if (m.type !== 'event' || m.event !== 'output' || !m.body) return;
        const d = parseNasmOutput(m.body);
        if (!d) return;
        // A new assembly replaces what the previous one reported.
        if (fresh) { this.collection.clear(); fresh = false; }
        const uri = vscode.Uri.file(d.file);
        const line = Math.max(0, d.line - 1);
        const diag = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), d.message,
          d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error);
        diag.source = 'nasm';
        this.collection.set(uri, [...(this.collection.get(uri) ?? []), diag]);
      },
      onWillReceiveMessage: (m: { type?: string; command?: string }) => {
        // A launch that assembles cleanly clears the old problems too.
        if (m.type === 'request' && (m.command === 'launch' || m.command === 'restart')) { this.collection.clear(); fresh = false; }
      },
    };
  }

  dispose(): void {
    this.collection.dispose();
  }
}
