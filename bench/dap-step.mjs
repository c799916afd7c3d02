// DAP round trip of one step, as VS Code does it after each F10: next -> stopped event ->
// stackTrace -> scopes -> variables (General). Runs the real adapter (dist/adapter.js; run
// `npm run build` first) over stdio and reports the median and p95 over N steps.
//   node bench/dap-step.mjs [steps=1000]
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { DebugClient } = require('@vscode/debugadapter-testsupport');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const adapter = path.join(root, 'dist', 'adapter.js');
if (!fs.existsSync(adapter)) { console.error('dist/adapter.js is missing: run npm run build'); process.exit(2); }
const steps = Number(process.argv[2] ?? 1000);

// A guest that loops forever over ordinary lines, with a call in the loop (stepped over).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-bench-'));
const src = path.join(dir, 'steps.asm');
fs.writeFileSync(src, `bits 32
org 0x100000
header:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd header, header, image_end, image_end, start
start:
    mov esp, 0x90000
    xor eax, eax
again:
    inc eax
    add ebx, eax
    call twice
    mov [value], ebx
    jmp again
twice:
    shl ecx, 1
    ret
value: dd 0
image_end:
`);

const dc = new DebugClient(process.execPath, adapter, 'ringside');
dc.defaultTimeout = 10000;
await dc.start();
await dc.initializeRequest({ adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
const initialized = dc.waitForEvent('initialized');
let stopped = dc.waitForEvent('stopped');
await dc.launchRequest({ program: src, virtualization: 'none', stopOnEntry: true });
await initialized;
await dc.configurationDoneRequest();
await stopped;

const times = [];
for (let k = 0; k < steps + 20; k++) {
  const t0 = process.hrtime.bigint();
  stopped = dc.waitForEvent('stopped');
  await dc.nextRequest({ threadId: 1 });
  await stopped;
  const st = await dc.stackTraceRequest({ threadId: 1, startFrame: 0, levels: 20 });
  const sc = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
  await dc.variablesRequest({ variablesReference: sc.body.scopes.find((s) => s.name === 'General').variablesReference });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (k >= 20) times.push(ms); // the first steps warm up the JIT
}
await dc.stop();
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
const result = { steps: times.length, medianMs: +q(0.5).toFixed(3), p95Ms: +q(0.95).toFixed(3), maxMs: +times[times.length - 1].toFixed(3), targetMedianMs: 5, targetP95Ms: 20 };
console.log(`DAP step round trip (next, stopped, stackTrace, scopes, variables General) over ${result.steps} steps:`);
console.log(`  median ${result.medianMs} ms   p95 ${result.p95Ms} ms   max ${result.maxMs} ms   (targets: median <= 5 ms, p95 <= 20 ms)`);
if (process.env.RINGSIDE_BENCH_JSON) fs.writeFileSync(process.env.RINGSIDE_BENCH_JSON, JSON.stringify(result, null, 2) + '\n');
