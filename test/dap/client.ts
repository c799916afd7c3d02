// Shared setup for the DAP tests: the real adapter process (dist/adapter.js, built by `npm run build`)
// driven over stdio by DebugClient, and small guests assembled from source written by the tests.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ADAPTER = path.join(ROOT, 'dist', 'adapter.js');
export const SAMPLES = path.join(ROOT, 'samples');

/** Capabilities the adapter answered initialize with, per client. */
export const capabilities = new WeakMap<DebugClient, DebugProtocol.Capabilities>();

export async function startClient(client: Partial<DebugProtocol.InitializeRequestArguments> = {}): Promise<DebugClient> {
  if (!fs.existsSync(ADAPTER)) throw new Error(`${ADAPTER} is missing: run npm run build first`);
  const dc = new DebugClient(process.execPath, ADAPTER, 'ringside');
  dc.defaultTimeout = 20000;
  await dc.start();
  const init = await dc.initializeRequest({ adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsProgressReporting: true, ...client });
  capabilities.set(dc, init.body ?? {});
  return dc;
}

/**
 * Lets the test play the client's part in reverse requests (runInTerminal): DebugClient drops requests
 * that come from the adapter, so its message dispatch is wrapped to answer them with `handler`.
 */
export function onReverseRequest(dc: DebugClient, handler: (command: string, args: any) => Promise<{ success: boolean; message?: string; body?: unknown }>): void {
  const client = dc as unknown as { dispatch(body: string): void; outputStream: NodeJS.WritableStream };
  const dispatch = client.dispatch.bind(client);
  client.dispatch = (body: string) => {
    const msg = JSON.parse(body) as DebugProtocol.ProtocolMessage & { command?: string; arguments?: unknown };
    if (msg.type !== 'request') { dispatch(body); return; }
    void handler(msg.command!, msg.arguments).then((r) => {
      const json = JSON.stringify({ type: 'response', seq: 0, request_seq: msg.seq, command: msg.command, ...r });
      client.outputStream.write(`Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`, 'utf8');
    });
  };
}

/** Launches and waits for the stop on entry (breakpoint setup runs between initialized and configurationDone). */
export async function launchStopped(dc: DebugClient, args: Record<string, unknown>, setup?: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const initialized = dc.waitForEvent('initialized');
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  await dc.launchRequest({ virtualization: 'none', stopOnEntry: true, ...args } as DebugProtocol.LaunchRequestArguments);
  await initialized;
  if (setup) await setup();
  await dc.configurationDoneRequest();
  return stopped;
}

/** Temporary folders of this test file, removed when it ends (passed or not). */
const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes a guest source into a fresh temporary folder and returns its path. */
export function guestSource(name: string, text: string, extra: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-dap-'));
  tempDirs.push(dir);
  for (const [n, t] of Object.entries(extra)) fs.writeFileSync(path.join(dir, n), t);
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

/** Line number (1-based) of the first line containing `marker` in a file. */
export function lineOf(file: string, marker: string): number {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const k = lines.findIndex((l) => l.includes(marker));
  if (k < 0) throw new Error(`${marker} not in ${file}`);
  return k + 1;
}

export async function continueTo(dc: DebugClient): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  await dc.continueRequest({ threadId: 1 });
  return stopped;
}

export async function topFrame(dc: DebugClient): Promise<DebugProtocol.StackFrame> {
  const st = await dc.stackTraceRequest({ threadId: 1 });
  return st.body.stackFrames[0];
}

/** Variables of a scope by name: name -> value. */
export async function scopeVars(dc: DebugClient, scope: string, frameId?: number): Promise<Map<string, DebugProtocol.Variable>> {
  const fid = frameId ?? (await topFrame(dc)).id;
  const sc = await dc.scopesRequest({ frameId: fid });
  const s = sc.body.scopes.find((x) => x.name === scope);
  if (!s) throw new Error(`no scope ${scope}`);
  const v = await dc.variablesRequest({ variablesReference: s.variablesReference });
  return new Map(v.body.variables.map((x) => [x.name, x]));
}

export async function evalNum(dc: DebugClient, expression: string): Promise<number> {
  const r = await dc.evaluateRequest({ expression, context: 'watch', format: { hex: false } });
  return Number(r.body.result.split(' ')[0]);
}

/** A 32-bit protected-mode multiboot guest skeleton: `body` runs after the header with flat segments. */
export function multiboot(body: string, data = ''): string {
  return `bits 32
org 0x100000
header:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd header, header, image_end, bss_end, start
start:
    mov esp, stack_top
${body}
exit:
    mov al, 0
    out 0xf4, al
    cli
    hlt
${data}
    align 16
    times 4096 db 0
stack_top:
image_end:
bss_end:
`;
}
