; Memory workload: sieve of Eratosthenes over a 1 MiB byte array (numbers
; below 2^20), recomputed from scratch each iteration: clear with dword
; stores, mark composites with strided byte stores, then count and sum the
; primes with byte loads.
;
; Dynamic instructions per iteration (S = SIEVE_SIZE = 2^20):
;   clear:  3 + 4 * S/4
;   sieve:  2 + for each b = 2..1023 (b*b < S): 8, plus 4 per mark when b is
;           prime; the final b = 1024 runs 4. Marks of prime p: ceil((S - p*p) / p).
;   count:  3 + 8 * S
;   tail:   3
; bench/workloads.mjs computes the total (the marks sum) from the same rules:
; 18,360,899 for S = 2^20 (checked by `node bench/cpu.mjs --check-counts`).

%define WL_NAME 'memory'
%include "boot.inc"

ARR        equ 0x200000
SIEVE_SIZE equ 0x100000

wl_setup:
        ret

wl_run:
        mov ebp, [iter_count]
        mov dword [results + 8], 0
.iter:  mov edi, ARR                    ; clear: 3
        mov ecx, SIEVE_SIZE / 4
        mov eax, 0x01010101
.clr:   mov [edi], eax                  ; 4 per dword
        add edi, 4
        dec ecx
        jnz .clr
        mov word [ARR], 0               ; sieve: 2 (0 and 1 are not prime)
        mov ebx, 2
.outer: mov eax, ebx                    ; 4 per b
        imul eax, ebx
        cmp eax, SIEVE_SIZE
        jae .done
        cmp byte [ARR + ebx], 0         ; 2 per b
        je .next
.mark:  mov byte [ARR + eax], 0         ; 4 per mark
        add eax, ebx
        cmp eax, SIEVE_SIZE
        jb .mark
.next:  inc ebx                         ; 2 per b
        jmp .outer
.done:  xor ecx, ecx                    ; count: 3
        xor edx, edx
        xor esi, esi
.cnt:   movzx eax, byte [ARR + esi]     ; 8 per byte
        add ecx, eax
        neg eax
        and eax, esi
        add edx, eax
        inc esi
        cmp esi, SIEVE_SIZE
        jb .cnt
        add [results + 8], ecx          ; tail: 3
        dec ebp
        jnz .iter
        mov [results], ecx              ; primes below 2^20: 82025
        mov [results + 4], edx          ; their sum mod 2^32
        ret

        IMAGE_END
