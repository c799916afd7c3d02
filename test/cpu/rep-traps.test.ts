// Debug traps inside REP string instructions come between iterations (SDM vol. 3, 17.3.1): under
// single-step every iteration traps with EIP at the REP instruction and the registers of the
// iterations done; a data breakpoint traps after the iteration that touched the watched bytes, an
// I/O breakpoint on REP INS/OUTS after the first iteration. Each case runs interpreted and with
// every block compiled, since the block compiler must not run REP iterations past a trap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Guest, asm, assemble, haveNasm, gate, IDT, K_CODE } from './system-guest';

const opts = { skip: haveNasm ? false : 'nasm is not installed' };
const CODE = 0x10000, HANDLER = 0x11000, LOG = 0x6000;

/**
 * A ring-0 flat guest running `body`; its #DB handler logs (EIP, ECX, EDI, DR6 low nibble and BS)
 * at LOG, clears DR6 and returns. Returns the log and the guest.
 */
function run(body: string, jitThreshold: number): { traps: number[][]; g: Guest; labels: Record<string, number> } {
  const g = new Guest();
  g.cpu.jitThreshold = jitThreshold;
  g.flatGdt();
  const a = assemble(`bits 32\norg ${CODE}\n${body}\n    hlt`);
  g.load(CODE, a.bytes);
  g.load(HANDLER, asm(`bits 32
org ${HANDLER}
    push eax
    push ebx
    mov ebx, [${LOG}]
    mov eax, [esp + 8]
    mov [ebx], eax
    mov [ebx + 4], ecx
    mov [ebx + 8], edi
    mov eax, dr6
    and eax, 0x400f
    mov [ebx + 12], eax
    add ebx, 16
    mov [${LOG}], ebx
    xor eax, eax
    mov dr6, eax
    pop ebx
    pop eax
    iretd`));
  g.w32(LOG, LOG + 16);
  g.entry(IDT, 1, gate(K_CODE, HANDLER, 0xe, 0));
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  const traps: number[][] = [];
  for (let p = LOG + 16; p < g.r32(LOG); p += 16) traps.push([g.r32(p), g.r32(p + 4), g.r32(p + 8), g.r32(p + 12)]);
  return { traps, g, labels: a.labels };
}

const BS = 0x4000;
const TF_ON = `    pushfd
    or dword [esp], 0x100
    popfd
    nop                        ; TF set by POPF traps after the next instruction`;
const TF_OFF = `    pushfd
    and dword [esp], ~0x100
    popfd`;

for (const jit of [Infinity, 1]) {
  const how = jit === 1 ? 'compiled blocks' : 'interpreter';

  test(`TF: REP MOVSB traps after every iteration at the REP, the last one after it (${how})`, opts, () => {
    const { traps, g, labels } = run(`
    mov esi, 0x5000
    mov edi, 0x5100
    mov ecx, 3
${TF_ON}
rep_at: rep movsb
after:
${TF_OFF}`, jit);
    assert.deepEqual(traps.slice(0, 4), [
      [labels.rep_at, 3, 0x5100, BS], // after the NOP
      [labels.rep_at, 2, 0x5101, BS],
      [labels.rep_at, 1, 0x5102, BS],
      [labels.after, 0, 0x5103, BS],
    ]);
    assert.equal(g.cpu.r32[1], 0);
  });

  test(`TF: REP STOSD, REPE CMPSB, REP OUTSB and REP INSB each trap per iteration (${how})`, opts, () => {
    const { traps, g, labels } = run(`
    mov dword [0x5000], 0x00414141   ; "AAA\\0"
    mov dword [0x5100], 0x00424141   ; "AAB\\0"
    cld
${TF_ON}
    mov edi, 0x5200
    mov ecx, 2
stos_at: rep stosd
    mov esi, 0x5000
    mov edi, 0x5100
    mov ecx, 4
cmps_at: repe cmpsb
    mov esi, 0x5000
    mov dx, 0xe9
    mov ecx, 2
outs_at: rep outsb
    mov edi, 0x5300
    mov dx, 0x80
    mov ecx, 2
ins_at: rep insb
ins_after:
${TF_OFF}`, jit);
    const at = (label: string) => traps.filter((t) => t[0] === labels[label]).map((t) => t[1]);
    assert.deepEqual(at('stos_at'), [2, 1], 'STOSD: traps at the REP with ECX 2 (before) and 1');
    assert.deepEqual(at('cmps_at'), [4, 3, 2], 'CMPSB: AA match, then B/A ends it');
    assert.deepEqual(at('outs_at'), [2, 1]);
    assert.deepEqual(at('ins_at'), [2, 1]);
    assert.ok(traps.some((t) => t[0] === labels.ins_after && t[1] === 0), 'the last INSB iteration traps after it');
    assert.equal(g.text(), 'AA');
    assert.equal(g.r16(0x5300), 0x5a5a);
  });

  test(`data breakpoint: REP STOSD traps after the iteration that wrote the watched dword (${how})`, opts, () => {
    const { traps, g, labels } = run(`
    mov eax, 0x500c
    mov dr1, eax
    mov eax, 0x00d00004        ; L1, R/W=01 (write), LEN=11 (4 bytes)
    mov dr7, eax
    mov eax, 0x11111111
    mov edi, 0x5000
    mov ecx, 8
    cld
stos_at: rep stosd`, jit);
    assert.deepEqual(traps, [[labels.stos_at, 4, 0x5010, 2]], 'one trap, at the REP, four dwords done, DR6.B1');
    assert.equal(g.cpu.r32[1], 0, 'the instruction resumes and finishes');
    assert.equal(g.r32(0x501c), 0x11111111);
  });

  test(`I/O breakpoint: REP OUTSB to a watched port traps after the first iteration (${how})`, opts, () => {
    const { traps, g, labels } = run(`
    mov eax, cr4
    or eax, 8                  ; CR4.DE
    mov cr4, eax
    mov eax, 0xe9
    mov dr0, eax
    mov eax, 0x00020002        ; G0, R/W=10 (I/O), LEN=00
    mov dr7, eax
    mov dword [0x5000], 0x636261   ; "abc"
    mov esi, 0x5000
    mov dx, 0xe9
    mov ecx, 3
outs_at: rep outsb
after:`, jit);
    assert.deepEqual(traps.slice(0, 1), [[labels.outs_at, 2, 0, 1]], 'after the first byte, at the REP, DR6.B0');
    assert.equal(g.text(), 'abc');
    assert.equal(g.cpu.r32[1], 0);
    void labels.after;
  });
}
