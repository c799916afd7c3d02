// A small seeded generator (splitmix32 seeding a xorshift128+ style state, 32-bit arithmetic only):
// the same seed gives the same guest on every host and Node version. No Math.random anywhere.
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split(); this.b = split(); this.c = split(); this.d = split() | 1;
  }

  /** xoshiro128**. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t; this.d = rotl(this.d, 11);
    return r;
  }
  /** 0 <= n < max. */
  below(max: number): number { return Math.floor((this.u32() / 4294967296) * max); }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.below(xs.length)]; }
  /** A weighted choice: [weight, value] pairs. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of xs) total += w;
    let r = this.below(total);
    for (const [w, v] of xs) { if (r < w) return v; r -= w; }
    return xs[xs.length - 1][1];
  }

  /** An operand value: edge values on purpose, random ones otherwise. */
  value(): number {
    switch (this.below(8)) {
      case 0: return this.pick([0, 1, 2, 0xff, 0x80, 0x7f, 0xffff, 0x8000]);
      case 1: return this.pick([-1, 0x7fffffff, 0x80000000 | 0, 0xfffffffe | 0, 0x80000001 | 0]);
      case 2: return this.below(0x100);
      case 3: return 1 << this.below(32);
      default: return this.u32() | 0;
    }
  }

  /** A selector: mostly GDT/LDT slots 0-15 with any RPL, sometimes anything. */
  selector(): number {
    if (this.chance(0.15)) return this.below(0x10000);
    return (this.below(16) << 3) | (this.chance(0.1) ? 4 : 0) | this.below(4);
  }
}

function rotl(x: number, k: number): number { return (x << k) | (x >>> (32 - k)); }
