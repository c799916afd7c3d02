; ALU workload: a tight loop of register-only add/sub/xor, one shift,
; inc/dec, a compare and a conditional branch; one straight-line block, no
; memory operand, a loop branch the host predicts. (Shifts and rotates are
; kept to one in 17: some engines run them through helpers, and a loop full
; of them measures that rather than the common ALU path.)
;
; Dynamic instructions per iteration: 17 (numbered below). The fixed part
; between the markers (call, setup, stores, ret) does not depend on the
; count and cancels out of the MIPS formula.

%define WL_NAME 'alu'
%include "boot.inc"

wl_setup:
        ret

wl_run:
        mov edi, [iter_count]
        xor ebp, ebp
        mov eax, 0x12345678
        mov ebx, 0x9ABCDEF0
        mov ecx, 0x0F1E2D3C
        mov edx, 0x4B5A6978
        mov esi, 1
.loop:
        add eax, ebx                    ; 1
        xor ebx, ecx                    ; 2
        add ecx, edx                    ; 3
        sub edx, eax                    ; 4
        inc esi                         ; 5
        xor eax, edx                    ; 6
        xor ebx, esi                    ; 7
        add ecx, esi                    ; 8
        shr edx, 3                      ; 9
        xor edx, ebx                    ; 10
        dec ebx                         ; 11
        add esi, eax                    ; 12
        add eax, ecx                    ; 13
        sub ebx, edx                    ; 14
        inc ebp                         ; 15
        cmp ebp, edi                    ; 16
        jne .loop                       ; 17
        mov [results], eax
        mov [results + 4], ebx
        mov [results + 8], ecx
        xor edx, esi
        mov [results + 12], edx
        ret

        IMAGE_END
