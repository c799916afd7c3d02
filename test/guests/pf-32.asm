; pf-32: page faults under 32-bit paging with 4 KiB pages. For each kind of page (not
; present; present with U/S and R/W set or clear), each access (read, write), each CPL (0, 3)
; and CR0.WP (0, 1): the #PF error code (bit 0 P, 1 W/R, 2 U/S) and CR2, or "ok".
; Then: PDE permissions combined with PTE permissions, instruction fetches (no I/D bit
; without PAE and EFER.NXE), and the accessed and dirty bits the processor sets.
%include "lib/guest.inc"

TEST_PAGES equ TEST_AREA        ; five test pages, 0x300000..0x304FFF
OFFSET     equ 0x123            ; accesses hit this byte of the page: CR2 shows it
PDE_PAGE   equ 0x800000         ; covered by the identity map's third page table

main:
    PRINTLN "pf-32: #PF error codes and CR2, 32-bit paging, 4 KiB pages"
    mov eax, PG_P | PG_W | PG_U
    call paging_identity
    ; The test pages' PTEs.
    mov dword [PTE(TEST_PAGES + 0x0000)], (TEST_PAGES + 0x0000)                      ; P=0
    mov dword [PTE(TEST_PAGES + 0x1000)], (TEST_PAGES + 0x1000) | PG_P               ; U=0 W=0
    mov dword [PTE(TEST_PAGES + 0x2000)], (TEST_PAGES + 0x2000) | PG_P | PG_W        ; U=0 W=1
    mov dword [PTE(TEST_PAGES + 0x3000)], (TEST_PAGES + 0x3000) | PG_P | PG_U        ; U=1 W=0
    mov dword [PTE(TEST_PAGES + 0x4000)], (TEST_PAGES + 0x4000) | PG_P | PG_W | PG_U ; U=1 W=1
    call paging_on

    mov dword [wp], 0
.wp_loop:
    mov eax, cr0
    and eax, ~CR0_WP
    cmp dword [wp], 0
    je .set_wp
    or eax, CR0_WP
.set_wp:
    mov cr0, eax
    mov eax, cr3                ; drop cached translations made under the old WP
    mov cr3, eax
    mov dword [cpl], 0
.cpl_loop:
    mov dword [access], 0
.access_loop:
    mov dword [page], 0
.page_loop:
    call matrix_check
    inc dword [page]
    cmp dword [page], 5
    jb .page_loop
    inc dword [access]
    cmp dword [access], 2
    jb .access_loop
    add dword [cpl], 3
    cmp dword [cpl], 6
    jb .cpl_loop
    inc dword [wp]
    cmp dword [wp], 2
    jb .wp_loop

    call pde_checks
    call fetch_checks
    call accessed_dirty
    ret

; matrix_check: one access to one test page at one CPL, described and run.
matrix_check:
    PRINT "CPL"
    PDEC [cpl]
    mov esi, text_read
    cmp dword [access], 0
    je .access_named
    mov esi, text_write
.access_named:
    call puts
    mov eax, [page]
    imul esi, eax, 12
    add esi, page_names
    call puts
    PRINT " WP="
    PDEC [wp]
    PRINT ": "
    mov eax, [page]
    shl eax, 12
    add eax, TEST_PAGES + OFFSET
    mov [target], eax
    mov eax, read_target
    cmp dword [access], 0
    je .run
    mov eax, write_target
.run:
    cmp dword [cpl], 0
    jne .ring3
    call try_ring0
    jmp .print
.ring3:
    mov edx, 0x202
    call try_ring3
.print:
    call print_outcome
    ret

read_target:
    mov ebx, [target]
    mov al, [ebx]
    int VEC_DONE
write_target:
    mov ebx, [target]
    mov [ebx], al
    int VEC_DONE

; pde_checks: the PDE's U/S and R/W bits restrict as much as the PTE's (the stricter wins).
pde_checks:
    mov dword [target], PDE_PAGE + OFFSET
    and dword [PDE(PDE_PAGE)], ~PG_U                 ; PDE U=0, PTEs U=1 W=1
    mov eax, cr3
    mov cr3, eax
    PRINT "PDE U=0 PTE U=1, CPL3 read: "
    TRY3 read_target
    PRINT "PDE U=0 PTE U=1, CPL0 read: "
    TRY0 read_target
    or dword [PDE(PDE_PAGE)], PG_U
    and dword [PDE(PDE_PAGE)], ~PG_W                 ; PDE W=0, PTEs W=1
    mov eax, cr3
    mov cr3, eax
    PRINT "PDE W=0 PTE W=1, CPL3 write: "
    TRY3 write_target
    PRINT "PDE W=0 PTE W=1, CPL0 write WP=1: "
    TRY0 write_target
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax
    mov eax, cr3
    mov cr3, eax
    PRINT "PDE W=0 PTE W=1, CPL0 write WP=0: "
    TRY0 write_target
    or dword [PDE(PDE_PAGE)], PG_W
    and dword [PDE(PDE_PAGE)], ~PG_P                 ; the whole page table not present
    mov eax, cr3
    mov cr3, eax
    PRINT "PDE P=0, CPL0 read: "
    TRY0 read_target
    PRINT "PDE P=0, CPL3 write: "
    TRY3 write_target
    or dword [PDE(PDE_PAGE)], PG_P
    mov eax, cr3
    mov cr3, eax
    ret

; fetch_checks: jumping into a page that cannot be executed from.
fetch_checks:
    ; Put a RET-free snippet (int VEC_DONE) in the U=0 and U=1 read-only pages.
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax
    mov word [TEST_PAGES + 0x1000 + OFFSET], 0x30CD ; int 0x30
    mov word [TEST_PAGES + 0x3000 + OFFSET], 0x30CD
    PRINT "fetch P=0, CPL0: "
    TRY0 TEST_PAGES + 0x0000 + OFFSET
    PRINT "fetch P=0, CPL3: "
    TRY3 TEST_PAGES + 0x0000 + OFFSET
    PRINT "fetch U=0, CPL3: "
    TRY3 TEST_PAGES + 0x1000 + OFFSET
    PRINT "fetch U=0, CPL0: "
    TRY0 TEST_PAGES + 0x1000 + OFFSET
    PRINT "fetch U=1 W=0, CPL3: "
    TRY3 TEST_PAGES + 0x3000 + OFFSET
    ; An instruction that straddles into a not-present page faults at the page start.
    mov byte [TEST_PAGES + 0x3FFF], 0xB8            ; mov eax, imm32: 4 bytes in the next page
    mov dword [PTE(TEST_PAGES + 0x4000)], 0
    invlpg [TEST_PAGES + 0x4000]
    PRINT "fetch across into P=0, CPL3: "
    TRY3 TEST_PAGES + 0x3FFF
    mov dword [PTE(TEST_PAGES + 0x4000)], (TEST_PAGES + 0x4000) | PG_P | PG_W | PG_U
    invlpg [TEST_PAGES + 0x4000]
    ret

; accessed_dirty: A is set on the first access through an entry, D on the first write.
; The page lies in the PDE_PAGE area, which nothing else touches.
AD_PAGE equ PDE_PAGE + 0x1000
accessed_dirty:
    and dword [PTE(AD_PAGE)], ~(PG_A | PG_D)
    and dword [PDE(AD_PAGE)], ~(PG_A | PG_D)
    mov eax, cr3
    mov cr3, eax
    PRINT "A/D before: PTE "
    call print_ad
    mov dword [target], AD_PAGE + OFFSET
    PRINT "A/D CPL3 read: "
    TRY3 read_target
    PRINT "A/D after the read: PTE "
    call print_ad
    PRINT "A/D CPL3 write: "
    TRY3 write_target
    PRINT "A/D after the write: PTE "
    call print_ad
    ret

print_ad:
    mov eax, [PTE(AD_PAGE)]
    and eax, PG_A | PG_D
    call print_hex8
    PRINT " PDE "
    mov eax, [PDE(AD_PAGE)]
    and eax, PG_A
    call print_hex8
    PRINTLN
    ret

text_read:  db " read  ", 0
text_write: db " write ", 0
page_names:                     ; 12 bytes each
    db "P=0        ", 0
    db "P=1 U=0 W=0", 0
    db "P=1 U=0 W=1", 0
    db "P=1 U=1 W=0", 0
    db "P=1 U=1 W=1", 0

align 4
wp:     dd 0
cpl:    dd 0
access: dd 0
page:   dd 0
target: dd 0
GUEST_END
