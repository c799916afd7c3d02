// CPUID: a Pentium III-class (family 6) Intel processor whose feature bits say exactly what this
// core implements. The table below is the whole story; change it together with the code it describes.
//
// Leaf          Register  Value
// 0             EAX       2 (highest basic leaf)      EBX/EDX/ECX "Genu" "ineI" "ntel"
// 1             EAX       0x0000_0683: family 6, model 8, stepping 3 (Pentium III "Coppermine")
//               EBX       0 (no brand index, CLFLUSH size, APIC id)
//               ECX       0 (no SSE3 and later)
//               EDX       VME(1) DE(2) PSE(3) TSC(4) MSR(5) PAE(6) CX8(8) SEP(11) MTRR(12) PGE(13)
//                         CMOV(15) PAT(16)
//                         Clear on purpose: FPU(0) - no x87 unit yet; MCE(7), MCA(14) - no machine-check
//                         architecture; APIC(9) - no local APIC (IA32_APIC_BASE is readable, but no
//                         device answers at its base); PSE-36(17); MMX(23), FXSR(24), SSE(25), SSE2(26).
// 2             EAX       0x0000_0001 (one iteration, no cache/TLB descriptors); EBX = ECX = EDX = 0
// 0x8000_0000   EAX       0x8000_0004 (highest extended leaf); EBX = ECX = EDX = 0
// 0x8000_0001   EDX       NX(20) - EFER.NXE and the PAE XD bit are implemented; EAX = EBX = ECX = 0
// 0x8000_0002-4           brand string "Ringside virtual x86 CPU", NUL-padded to 48 bytes
// Other leaves: as Intel documents for leaves above the maximum, the highest basic leaf's values (leaf 2).

export const CPUID_MAX_BASIC = 2;
export const CPUID_MAX_EXTENDED = 0x80000004 | 0;

const FEAT_VME = 1 << 1, FEAT_DE = 1 << 2, FEAT_PSE = 1 << 3, FEAT_TSC = 1 << 4, FEAT_MSR = 1 << 5;
const FEAT_PAE = 1 << 6, FEAT_CX8 = 1 << 8, FEAT_SEP = 1 << 11, FEAT_MTRR = 1 << 12, FEAT_PGE = 1 << 13;
const FEAT_CMOV = 1 << 15, FEAT_PAT = 1 << 16;
export const LEAF1_EDX = FEAT_VME | FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_PAE | FEAT_CX8 | FEAT_SEP |
  FEAT_MTRR | FEAT_PGE | FEAT_CMOV | FEAT_PAT;
export const LEAF1_EAX = 0x683;
export const EXT1_EDX_NX = 1 << 20;

const BRAND = 'Ringside virtual x86 CPU';

function str4(s: string, at: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) v |= (s.charCodeAt(at + k) || 0) << (8 * k);
  return v;
}

/** The four result registers for a leaf (ECX, the subleaf, selects nothing on this processor). */
export function cpuid(leaf: number): [eax: number, ebx: number, ecx: number, edx: number] {
  leaf >>>= 0;
  if (leaf >= 0x80000000 && leaf <= (CPUID_MAX_EXTENDED >>> 0)) {
    if (leaf === 0x80000000) return [CPUID_MAX_EXTENDED, 0, 0, 0];
    if (leaf === 0x80000001) return [0, 0, 0, EXT1_EDX_NX];
    const at = (leaf - 0x80000002) * 16;
    return [str4(BRAND, at), str4(BRAND, at + 4), str4(BRAND, at + 8), str4(BRAND, at + 12)];
  }
  if (leaf > CPUID_MAX_BASIC) leaf = CPUID_MAX_BASIC;
  switch (leaf) {
    case 0: return [CPUID_MAX_BASIC, str4('Genu', 0), str4('ntel', 0), str4('ineI', 0)];
    case 1: return [LEAF1_EAX, 0, 0, LEAF1_EDX];
    default: return [1, 0, 0, 0];
  }
}
