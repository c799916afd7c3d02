// The CPU benchmark workloads: one table, the single source of truth for their
// sources, dynamic instruction counts per iteration and default iteration
// counts per engine. The counts follow the rules written in each guest source.

/** Fibonacci number F(k), F(1) = F(2) = 1. */
function fibonacci(k) {
  let a = 0;
  let b = 1;
  for (let i = 0; i < k; i++) [a, b] = [b, a + b];
  return a;
}

/**
 * One sieve iteration over `size` bytes (see memory.asm): its dynamic
 * instruction count, and the prime count and sum (mod 2^32) it prints.
 */
export function sieve(size) {
  const composite = new Uint8Array(size);
  let outer = 2; // mov word [ARR], 0; mov ebx, 2
  let b = 2;
  for (; b * b < size; b++) {
    outer += 8;
    if (composite[b]) continue;
    for (let m = b * b; m < size; m += b) {
      composite[m] = 1;
      outer += 4;
    }
  }
  outer += 4; // the b whose square reaches size leaves the loop
  let count = 0;
  let sum = 0;
  for (let i = 2; i < size; i++) {
    if (!composite[i]) {
      count++;
      sum = (sum + i) >>> 0;
    }
  }
  const clear = 3 + 4 * (size / 4);
  const counting = 3 + 8 * size;
  const tail = 3;
  return { instructions: clear + outer + counting + tail, count, sum };
}

const hex8 = (x) => (x >>> 0).toString(16).padStart(8, '0');
const line = (name, n, r) => `RSBENCH ${name} iter=${hex8(n)} r=${r.map(hex8).join(' ')}`;
const rol = (x, k) => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * What alu.asm prints after each count in `ns`: the loop, step by step, run
 * once up to the largest count (int32 math for speed: ~5 s per 10^9).
 */
function aluExpected(ns) {
  const out = new Map();
  let eax = 0x12345678 | 0;
  let ebx = 0x9abcdef0 | 0;
  let ecx = 0x0f1e2d3c | 0;
  let edx = 0x4b5a6978 | 0;
  let esi = 1;
  let done = 0;
  for (const n of [...ns].sort((a, b) => a - b)) {
    for (; done < n; done++) {
      eax = (eax + ebx) | 0;
      ebx ^= ecx;
      ecx = (ecx + edx) | 0;
      edx = (edx - eax) | 0;
      esi = (esi + 1) | 0;
      eax ^= edx;
      ebx ^= esi;
      ecx = (ecx + esi) | 0;
      edx = (edx >>> 3) ^ ebx;
      ebx = (ebx - 1) | 0;
      esi = (esi + eax) | 0;
      eax = (eax + ecx) | 0;
      ebx = (ebx - edx) | 0;
    }
    out.set(n, line('alu', n, [eax, ebx, ecx, edx ^ esi]));
  }
  return out;
}

/** What paging.asm prints after each count in `ns` (the permutation, in JS). */
function pagingExpected(ns) {
  const out = new Map();
  const pages = 4096;
  const mem = new Uint32Array(pages); // first dword of each physical page
  for (let j = 0; j < pages; j++) mem[j] = Math.imul(j, 0x9e3779b9) + 1;
  const perm = new Uint16Array(pages);
  for (let i = 0; i < pages; i++) perm[i] = (i * 1597) & (pages - 1);
  let edx = 0x2545f491;
  let done = 0;
  for (const n of [...ns].sort((a, b) => a - b)) {
    for (; done < n; done++) {
      for (let i = 0; i < pages; i++) {
        edx = (rol(edx, 5) + mem[perm[i]]) >>> 0;
        mem[perm[i]] = edx;
      }
    }
    const last = mem[perm[pages - 1]];
    out.set(n, line('paging', n, [edx, last, last, 0]));
  }
  return out;
}

/** Applies `f(n)` to each count: for workloads whose result has a closed form. */
const each = (f) => (ns) => new Map(ns.map((n) => [n, f(n)]));

const FIB_N = 20;
const FIB_VALUE = fibonacci(FIB_N);
const SIEVE = sieve(1 << 20);

/**
 * name -> { source, perIteration, what, expected(counts) (a Map from each
 * iteration count to the result line the guest must print), iterations:
 * { engine: [N1, N2] } }.
 * N2 aims at 2-3 s of guest work on this 2-core machine; N1 = N2 / 4 (or
 * less when an iteration is long). Ringside's follow its speed when measured;
 * --scale or --iters adjust them as it changes.
 */
export const WORKLOADS = {
  alu: {
    source: 'alu.asm',
    perIteration: 17,
    what: 'register-only add/sub/xor/shr/inc/dec/cmp/jne loop, one straight block',
    expected: aluExpected,
    iterations: {
      qemu: [150_000_000, 600_000_000],
      v86: [60_000_000, 240_000_000],
      'v86-nojit': [2_500_000, 10_000_000],
      bochs: [3_000_000, 12_000_000],
      ringside: [30_000_000, 120_000_000],
    },
  },
  memory: {
    source: 'memory.asm',
    perIteration: SIEVE.instructions,
    what: 'sieve of Eratosthenes over a 1 MiB byte array',
    expected: each((n) => line('memory', n, [SIEVE.count, SIEVE.sum, Math.imul(n, SIEVE.count), 0])),
    iterations: {
      qemu: [80, 320],
      v86: [40, 160],
      'v86-nojit': [2, 8],
      bochs: [2, 10],
      ringside: [8, 32],
    },
  },
  paging: {
    source: 'paging.asm',
    perIteration: 3 + 6 * 4096 + 2,
    what: 'CR3 reload, then a read and a write in each of 4096 pages over 16 MiB',
    expected: pagingExpected,
    iterations: {
      qemu: [1_000, 4_000],
      v86: [900, 3_600],
      'v86-nojit': [500, 2_000],
      bochs: [500, 2_000],
      ringside: [3_000, 12_000],
    },
  },
  call: {
    source: 'call.asm',
    perIteration: 5 + 12 * (fibonacci(FIB_N + 1) - 1) + 3 * fibonacci(FIB_N + 1),
    what: `recursive fib(${FIB_N}): a CALL and a RET every 5.4 instructions`,
    expected: each((n) => line('call', n, [Math.imul(n, FIB_VALUE), FIB_VALUE, 0, 0])),
    iterations: {
      qemu: [2_000, 8_000],
      v86: [2_000, 8_000],
      'v86-nojit': [200, 800],
      bochs: [200, 800],
      ringside: [300, 1_200],
    },
  },
};

/** Where the iteration count sits in every image (see boot.inc). */
export const ITER_MAGIC_OFFSET = 0x1f0;
export const ITER_OFFSET = 0x1f4;

/** A copy of `image` whose iteration count is `n`. */
export function patchIterations(image, n) {
  if (image.toString('latin1', ITER_MAGIC_OFFSET, ITER_MAGIC_OFFSET + 4) !== 'RSBI') {
    throw new Error('image has no RSBI iteration field at 0x1f0');
  }
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) throw new Error(`bad iteration count ${n}`);
  const copy = Buffer.from(image);
  copy.writeUInt32LE(n, ITER_OFFSET);
  return copy;
}

/** The result line a guest prints, or undefined. */
export function resultLine(output) {
  const m = /RSBENCH [^\r\n]*/.exec(output);
  return m ? m[0].trim() : undefined;
}
