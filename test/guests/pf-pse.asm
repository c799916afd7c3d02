; pf-pse: page faults on 4 MiB pages (32-bit paging, CR4.PSE = 1): error codes and CR2 for
; every U/S, R/W, P and CR0.WP combination, a reserved bit in a 4 MiB PDE (bit 21), and
; the accessed and dirty bits of a 4 MiB page (kept in the PDE).
%include "lib/guest.inc"

PFM_FETCH equ 0
OFFSET    equ 0x2A5123          ; accesses hit this byte of each 4 MiB page
BIG       equ 0x800000          ; the first test page: PDE 2; kinds at BIG + k * 4 MiB

main:
    PRINTLN "pf-pse: #PF error codes and CR2, 32-bit paging, 4 MiB pages"
    mov eax, PG_P | PG_W | PG_U
    call paging_identity        ; 4 KiB pages below 8 MiB stay
    mov dword [PDE(BIG + 0x000000)], (BIG + 0x000000) | PG_PS                      ; P=0
    mov dword [PDE(BIG + 0x400000)], (BIG + 0x400000) | PG_PS | PG_P               ; U=0 W=0
    mov dword [PDE(BIG + 0x800000)], (BIG + 0x800000) | PG_PS | PG_P | PG_W        ; U=0 W=1
    mov dword [PDE(BIG + 0xC00000)], (BIG + 0xC00000) | PG_PS | PG_P | PG_U        ; U=1 W=0
    mov dword [PDE(BIG + 0x1000000)], (BIG + 0x1000000) | PG_PS | PG_P | PG_W | PG_U ; U=1 W=1
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    call paging_on
    call pfm_run

    ; Bit 21 of a 4 MiB PDE is reserved (bits 20:13 hold physical address bits 32 and up).
    mov dword [PDE(BIG + 0x1400000)], (BIG + 0x1400000) | PG_PS | PG_P | PG_W | PG_U | (1 << 21)
    mov dword [pfm_target], BIG + 0x1400000 + OFFSET
    PRINT "reserved bit 21, CPL0 read: "
    TRY0 pfm_read
    PRINT "reserved bit 21, CPL3 write: "
    TRY3 pfm_write

    ; Accessed and dirty bits live in the PDE of a 4 MiB page.
    and dword [PDE(BIG + 0x1000000)], ~(PG_A | PG_D)
    mov eax, cr3
    mov cr3, eax
    mov dword [pfm_target], BIG + 0x1000000 + OFFSET
    PRINT "A/D before: PDE "
    call print_ad
    PRINT "A/D CPL3 read: "
    TRY3 pfm_read
    PRINT "A/D after the read: PDE "
    call print_ad
    PRINT "A/D CPL0 write: "
    TRY0 pfm_write
    PRINT "A/D after the write: PDE "
    call print_ad

    ; With CR4.PSE = 0 the PS bit is ignored: the PDE points to a page table (here the
    ; identity map's first one, so BIG + 0x1000000 + OFFSET reads through it).
    mov eax, cr4
    and eax, ~CR4_PSE
    mov cr4, eax
    mov dword [PDE(BIG + 0x1000000)], PAGE_TABLES | PG_PS | PG_P | PG_W | PG_U
    mov eax, cr3
    mov cr3, eax
    PRINT "CR4.PSE=0, PS=1 PDE used as a table, CPL0 read: "
    TRY0 pfm_read
    ret

print_ad:
    mov eax, [PDE(BIG + 0x1000000)]
    and eax, PG_A | PG_D
    call print_hex8
    PRINTLN
    ret

%include "lib/pfmatrix.inc"

align 4
pfm_count:   dd 5
pfm_targets: dd BIG + OFFSET, BIG + 0x400000 + OFFSET, BIG + 0x800000 + OFFSET
             dd BIG + 0xC00000 + OFFSET, BIG + 0x1000000 + OFFSET
pfm_names:   dd .n0, .n1, .n2, .n3, .n4
.n0: db "4M P=0        ", 0
.n1: db "4M P=1 U=0 W=0", 0
.n2: db "4M P=1 U=0 W=1", 0
.n3: db "4M P=1 U=1 W=0", 0
.n4: db "4M P=1 U=1 W=1", 0
GUEST_END
