; Paging workload: each iteration reloads CR3 (flushing the whole TLB: no
; global pages) and then reads and writes one dword in each of 4096 distinct
; 4 KiB pages spread over 16 MiB, so every page access needs a page walk.
;
; Linear 0x40000000..0x40FFFFFF maps page i to physical page
; 0x1000 + ((i * 1597) mod 4096) (16..32 MiB), a permutation: an engine that
; translates wrongly reads the wrong seeds and prints a different checksum.
;
; Dynamic instructions per iteration: 3 (mov cr3, mov, mov) + 6 per page
; (rol xor mov add dec jnz) * 4096 + 2 (dec jnz) = 24581.

%define WL_NAME 'paging'
%include "boot.inc"

PT2_BASE  equ 0x29000                   ; 4 page tables for the 16 MiB window
WIN_LIN   equ 0x40000000
WIN_PHYS  equ 0x01000000
PAGES     equ 4096

wl_setup:
        ; seed the first dword of every physical page of the window
        mov edi, WIN_PHYS
        xor ecx, ecx
.seed:  mov eax, ecx
        imul eax, eax, 0x9E3779B9
        inc eax
        mov [edi], eax
        add edi, 0x1000
        inc ecx
        cmp ecx, PAGES
        jb .seed
        ; page tables: linear page i -> physical page (i * 1597) mod 4096
        mov edi, PT2_BASE
        xor ecx, ecx
.pte:   mov eax, ecx
        imul eax, eax, 1597
        and eax, PAGES - 1
        shl eax, 12
        add eax, WIN_PHYS | 3
        mov [edi + ecx * 4], eax
        inc ecx
        cmp ecx, PAGES
        jb .pte
        mov edi, PD_BASE + (WIN_LIN >> 22) * 4
        mov eax, PT2_BASE | 3
        mov ecx, PAGES / 1024
.pde:   mov [edi], eax
        add eax, 0x1000
        add edi, 4
        dec ecx
        jnz .pde
        mov eax, PD_BASE
        mov cr3, eax
        ret

wl_run:
        mov edi, [iter_count]
        mov ebp, PD_BASE
        mov edx, 0x2545F491
.iter:  mov cr3, ebp                    ; 1: TLB flushed
        mov esi, WIN_LIN                ; 2
        mov ecx, PAGES                  ; 3
.page:  rol edx, 5                      ; 1
        add edx, [esi]                  ; 2
        mov [esi], edx                  ; 3: read next iteration
        add esi, 0x1000                 ; 4
        dec ecx                         ; 5
        jnz .page                       ; 6
        dec edi                         ; 1
        jnz .iter                       ; 2
        mov [results], edx
        mov eax, [WIN_LIN + (PAGES - 1) * 0x1000]
        mov [results + 4], eax
        ; the same dword through the identity map: checks the permutation
        mov eax, ((PAGES - 1) * 1597) & (PAGES - 1)
        shl eax, 12
        mov eax, [WIN_PHYS + eax]
        mov [results + 8], eax
        ret

        IMAGE_END
