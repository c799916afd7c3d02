; pf-pae: page faults under PAE paging with EFER.NXE = 1, on 4 KiB and 2 MiB pages: the
; error code (bit 0 P, 1 W/R, 2 U/S, 3 RSVD, 4 I/D) and CR2 for every U/S, R/W, P, NX and
; CR0.WP combination, for reads, writes and instruction fetches at CPL 0 and 3. Then
; reserved bits (NX with NXE = 0, a physical address bit above MAXPHYADDR, bit 13 of a
; 2 MiB PDE), PDPTE reserved bits at MOV CR3, and the PDPTE registers that MOV CR3 loads.
%include "lib/guest.inc"

PFM_FETCH equ 1
OFFSET    equ 0x123             ; 4 KiB pages: accesses hit this byte
BIG_OFFSET equ 0x1A5123         ; 2 MiB pages: and this one

PDPT      equ 0x3F0000          ; 4 entries (1 GiB each)
PD        equ 0x3F1000          ; entries for 0..1 GiB, 2 MiB each
PT        equ 0x3F2000          ; 4 KiB pages for 2..4 MiB
PD_HIGH_A equ 0x3F3000          ; two directories for 1..2 GiB (PDPTE register test)
PD_HIGH_B equ 0x3F4000
BAD_PDPT  equ 0x3F5000          ; a PDPT with a reserved bit in entry 1
SMALL     equ TEST_AREA         ; 4 KiB test pages: SMALL + k * 4 KiB (k < 8)
BIG       equ 0x800000          ; 2 MiB test pages: BIG + k * 2 MiB (k < 8)
FRAME_A   equ 0x1800000         ; frames behind 1 GiB in the PDPTE register test
FRAME_B   equ 0x1A00000

E_P  equ 0x001
E_W  equ 0x002
E_U  equ 0x004
E_PS equ 0x080
E_NX_HIGH equ 0x80000000        ; bit 63, in the entry's upper dword

MSR_EFER equ 0xC0000080
EFER_NXE equ 1 << 11

; ENTRY64 address, low dword, high dword: store a 64-bit paging entry.
%macro ENTRY64 3
    mov dword [%1], %2
    mov dword [(%1) + 4], %3
%endmacro

main:
    PRINTLN "pf-pae: #PF error codes and CR2, PAE paging with NX, 4 KiB and 2 MiB pages"
    ; Zero the paging structures.
    mov edi, PDPT
    mov ecx, 6 * 1024
    xor eax, eax
    rep stosd
    ; PDPTE 0 -> PD. (PDPTEs have no R/W or U/S bits: those are reserved.)
    ENTRY64 PDPT, PD | E_P, 0
    ; PD: 2 MiB identity pages for 0..32 MiB, except 2..4 MiB through PT.
    mov edi, PD
    mov eax, E_P | E_W | E_U | E_PS
    mov ecx, 16
.pd:
    mov [edi], eax
    add edi, 8
    add eax, 0x200000
    loop .pd
    ENTRY64 PD + 1 * 8, PT | E_P | E_W | E_U, 0
    mov edi, PT
    mov eax, 0x200000 | E_P | E_W | E_U
    mov ecx, 512
.pt:
    mov [edi], eax
    add edi, 8
    add eax, 0x1000
    loop .pt

    ; The test pages. 4 KiB: PT entries for SMALL + k * 4 KiB.
%define SMALL_PTE(k) (PT + ((SMALL - 0x200000) >> 12) * 8 + (k) * 8)
    ENTRY64 SMALL_PTE(0), (SMALL + 0x0000), 0                                   ; P=0
    ENTRY64 SMALL_PTE(1), (SMALL + 0x1000) | E_P, 0                             ; U=0 W=0
    ENTRY64 SMALL_PTE(2), (SMALL + 0x2000) | E_P | E_W, 0                       ; U=0 W=1
    ENTRY64 SMALL_PTE(3), (SMALL + 0x3000) | E_P | E_U, 0                       ; U=1 W=0
    ENTRY64 SMALL_PTE(4), (SMALL + 0x4000) | E_P | E_W | E_U, 0                 ; U=1 W=1
    ENTRY64 SMALL_PTE(5), (SMALL + 0x5000) | E_P | E_W | E_U, E_NX_HIGH         ; U=1 W=1 NX
    ENTRY64 SMALL_PTE(6), (SMALL + 0x6000) | E_P | E_W, E_NX_HIGH               ; U=0 W=1 NX
    ; 2 MiB: PD entries for BIG + k * 2 MiB.
%define BIG_PDE(k) (PD + (BIG >> 21) * 8 + (k) * 8)
    ENTRY64 BIG_PDE(0), (BIG + 0x000000) | E_PS, 0
    ENTRY64 BIG_PDE(1), (BIG + 0x200000) | E_PS | E_P, 0
    ENTRY64 BIG_PDE(2), (BIG + 0x400000) | E_PS | E_P | E_W, 0
    ENTRY64 BIG_PDE(3), (BIG + 0x600000) | E_PS | E_P | E_U, 0
    ENTRY64 BIG_PDE(4), (BIG + 0x800000) | E_PS | E_P | E_W | E_U, 0
    ENTRY64 BIG_PDE(5), (BIG + 0xA00000) | E_PS | E_P | E_W | E_U, E_NX_HIGH
    ENTRY64 BIG_PDE(6), (BIG + 0xC00000) | E_PS | E_P | E_W, E_NX_HIGH

    ; Every target holds `int 0x30`, for the fetches.
    xor ecx, ecx
.code:
    mov eax, [pfm_targets + ecx * 4]
    mov word [eax], 0x30CD
    inc ecx
    cmp ecx, [pfm_count]
    jb .code

    ; EFER.NXE, CR4.PAE, CR3, CR0.PG.
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax

    call pfm_run
    call reserved_bits
    call pdpte_checks
    ret

; reserved_bits: entries with reserved bits set fault with RSVD (and P, since they are present).
reserved_bits:
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    ; XD (bit 63) is reserved while EFER.NXE = 0.
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_NXE
    wrmsr
    mov eax, cr3
    mov cr3, eax
    mov dword [pfm_target], SMALL + 0x5000 + OFFSET
    PRINT "NXE=0, XD=1 in a PTE, CPL0 read: "
    TRY0 pfm_read
    mov dword [pfm_target], BIG + 0xA00000 + BIG_OFFSET
    PRINT "NXE=0, XD=1 in a 2M PDE, CPL3 write: "
    TRY3 pfm_write
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    ; A physical address bit above MAXPHYADDR (bit 40).
    or dword [SMALL_PTE(4) + 4], 1 << 8
    invlpg [SMALL + 0x4000]
    mov dword [pfm_target], SMALL + 0x4000 + OFFSET
    PRINT "PTE bit 40 set, CPL3 read: "
    TRY3 pfm_read
    and dword [SMALL_PTE(4) + 4], ~(1 << 8)
    invlpg [SMALL + 0x4000]
    PRINT "PTE bit 40 clear again, CPL3 read: "
    TRY3 pfm_read
    ; Bits 20:13 of a 2 MiB PDE are reserved.
    or dword [BIG_PDE(4)], 1 << 13
    invlpg [BIG + 0x800000 + BIG_OFFSET]
    mov dword [pfm_target], BIG + 0x800000 + BIG_OFFSET
    PRINT "2M PDE bit 13 set, CPL0 write: "
    TRY0 pfm_write
    PRINT "2M PDE bit 13 set, CPL3 fetch: "
    TRY3 pfm_fetch
    and dword [BIG_PDE(4)], ~(1 << 13)
    invlpg [BIG + 0x800000 + BIG_OFFSET]
    ret

; pdpte_checks: MOV CR3 loads the four PDPTEs into registers, checking their reserved bits
; (#GP(0) at the MOV); later walks use the registers, not memory.
pdpte_checks:
    ; 1..2 GiB -> PD_HIGH_A, whose first 2 MiB page is FRAME_A; PD_HIGH_B maps FRAME_B.
    mov dword [FRAME_A], 0xAAAAAAAA
    mov dword [FRAME_B], 0xBBBBBBBB
    ENTRY64 PD_HIGH_A, FRAME_A | E_PS | E_P | E_W | E_U, 0
    ENTRY64 PD_HIGH_B, FRAME_B | E_PS | E_P | E_W | E_U, 0
    ENTRY64 PDPT + 8, PD_HIGH_A | E_P, 0
    mov eax, cr3
    mov cr3, eax
    PRINT "1 GiB reads "
    PHEX32 [0x40000000]
    PRINTLN
    ; Point PDPTE 1 at PD_HIGH_B in memory only; INVLPG drops the TLB entry but not the
    ; PDPTE registers, so 1 GiB still reads FRAME_A until CR3 is loaded again.
    ENTRY64 PDPT + 8, PD_HIGH_B | E_P, 0
    invlpg [0x40000000]
    PRINT "PDPTE 1 changed in memory, INVLPG, 1 GiB reads "
    PHEX32 [0x40000000]
    PRINTLN
    mov eax, cr3
    mov cr3, eax
    PRINT "after MOV CR3, 1 GiB reads "
    PHEX32 [0x40000000]
    PRINTLN
    ; A PDPT whose entry 1 has the R/W bit (reserved in a PDPTE) set.
    mov esi, PDPT
    mov edi, BAD_PDPT
    mov ecx, 8
    rep movsd
    or dword [BAD_PDPT + 8], E_W
    PRINT "MOV CR3 with a reserved bit in PDPTE 1: "
    TRY0 load_bad_pdpt
    mov eax, PDPT               ; whatever happened, back to the good PDPT
    mov cr3, eax
    ret

load_bad_pdpt:
    mov eax, BAD_PDPT
    mov cr3, eax
    int VEC_DONE

%include "lib/pfmatrix.inc"

align 4
pfm_count:   dd 14
pfm_targets:
    dd SMALL + 0x0000 + OFFSET, SMALL + 0x1000 + OFFSET, SMALL + 0x2000 + OFFSET
    dd SMALL + 0x3000 + OFFSET, SMALL + 0x4000 + OFFSET, SMALL + 0x5000 + OFFSET
    dd SMALL + 0x6000 + OFFSET
    dd BIG + 0x000000 + BIG_OFFSET, BIG + 0x200000 + BIG_OFFSET, BIG + 0x400000 + BIG_OFFSET
    dd BIG + 0x600000 + BIG_OFFSET, BIG + 0x800000 + BIG_OFFSET, BIG + 0xA00000 + BIG_OFFSET
    dd BIG + 0xC00000 + BIG_OFFSET
pfm_names:
    dd .s0, .s1, .s2, .s3, .s4, .s5, .s6, .b0, .b1, .b2, .b3, .b4, .b5, .b6
.s0: db "4K P=0             ", 0
.s1: db "4K P=1 U=0 W=0 NX=0", 0
.s2: db "4K P=1 U=0 W=1 NX=0", 0
.s3: db "4K P=1 U=1 W=0 NX=0", 0
.s4: db "4K P=1 U=1 W=1 NX=0", 0
.s5: db "4K P=1 U=1 W=1 NX=1", 0
.s6: db "4K P=1 U=0 W=1 NX=1", 0
.b0: db "2M P=0             ", 0
.b1: db "2M P=1 U=0 W=0 NX=0", 0
.b2: db "2M P=1 U=0 W=1 NX=0", 0
.b3: db "2M P=1 U=1 W=0 NX=0", 0
.b4: db "2M P=1 U=1 W=1 NX=0", 0
.b5: db "2M P=1 U=1 W=1 NX=1", 0
.b6: db "2M P=1 U=0 W=1 NX=1", 0
GUEST_END
