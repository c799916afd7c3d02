// Small seeded generator (xoshiro128**): the same seed gives the same vectors on every host,
// which is what lets check.mjs diff a regeneration against the committed files.
export function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Rng {
  constructor(seed) {
    let s = typeof seed === 'string' ? hashString(seed) : seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = [split(), split(), split(), split()];
  }
  u32() {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 11);
    return r;
  }
  next() { return this.u32() / 4294967296; }
  below(n) { return Math.floor(this.next() * n); }
}

function rotl(x, k) { return (x << k) | (x >>> (32 - k)); }
