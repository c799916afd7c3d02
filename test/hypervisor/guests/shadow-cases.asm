; Shadow-paging cases for test/hypervisor/shadow.test.ts: a flat binary (loaded at 1 MiB, 32-bit
; protected mode, paging off) that builds its own tables, turns paging on and then, one step at a
; time, writes a guest PTE, runs INVLPG, switches CR3, toggles CR0.WP and maps a PSE large page.
; After each step it writes a digit to port 0xE9 (the test checks the shadow tables there), and it
; prints what it reads, so every mode must print the same text.

bits 32
org 0x100000

PD_A    equ 0x200000            ; page directory A
PT0     equ 0x201000            ; identity map of 0..4 MiB, shared by both directories
PT1     equ 0x202000            ; linear 4 MiB.. under directory A
PD_B    equ 0x203000            ; page directory B
PT2     equ 0x204000            ; linear 4 MiB.. under directory B
F_A     equ 0x300000            ; data frames, each starting with a letter
F_B     equ 0x310000
F_C     equ 0x320000
RO_PAGE equ 0x180000            ; mapped read-only
WINDOW  equ 0x400000            ; the linear page the cases remap

%macro CHECK 1
    mov al, %1
    out 0xe9, al
%endmacro
%macro SHOW 1                   ; print the byte at a linear address
    mov al, [%1]
    out 0xe9, al
%endmacro

start:
    mov byte [F_A], 'A'
    mov byte [F_B], 'B'
    mov byte [F_C], 'C'
    mov byte [RO_PAGE], 'r'
    mov edi, PD_A               ; clear the five table pages
    mov ecx, 5 * 1024
    xor eax, eax
    rep stosd
    mov edi, PT0                ; identity map, present + writable
    mov eax, 3
    mov ecx, 1024
.id:
    stosd
    add eax, 0x1000
    loop .id
    mov dword [PT0 + (RO_PAGE >> 12) * 4], RO_PAGE | 1
    mov dword [PT1], F_A | 3
    mov dword [PT1 + 4], (F_A + 0x1000) | 3
    mov dword [PT2], F_C | 3
    mov dword [PD_A], PT0 | 3
    mov dword [PD_A + 4], PT1 | 3
    mov dword [PD_B], PT0 | 3
    mov dword [PD_B + 4], PT2 | 3
    mov eax, PD_A
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000          ; PG | WP
    mov cr0, eax
    CHECK '1'                   ; paging on

    SHOW WINDOW                 ; 'A'
    mov dword [WINDOW + 0x1000], 0x11223344
    CHECK '2'                   ; a read and a write through PT1

    mov dword [PT1], F_B | 3    ; the guest rewrites a PTE of a table the shadow follows
    CHECK '3'
    invlpg [WINDOW]
    SHOW WINDOW                 ; 'B'
    CHECK '4'

    mov eax, PD_B               ; another address space
    mov cr3, eax
    SHOW WINDOW                 ; 'C'
    CHECK '5'
    mov eax, PD_A               ; and back
    mov cr3, eax
    SHOW WINDOW                 ; 'B'
    CHECK '6'

    mov eax, cr0                ; WP off: the kernel may write a read-only page
    and eax, ~0x10000
    mov cr0, eax
    mov byte [RO_PAGE], 'w'
    SHOW RO_PAGE                ; 'w'
    CHECK '7'
    mov eax, cr0                ; WP on again
    or eax, 0x10000
    mov cr0, eax
    SHOW RO_PAGE                ; 'w'
    CHECK '8'

    mov eax, cr4                ; PSE: a 4 MiB page at linear 8 MiB -> physical 8 MiB
    or eax, 0x10
    mov cr4, eax
    mov dword [PD_A + 2 * 4], 0x800000 | 0x83
    mov dword [0x801234], 'Z'
    SHOW 0x801234               ; 'Z'
    CHECK '9'

    mov al, 0
    out 0xf4, al                ; exit
    hlt
