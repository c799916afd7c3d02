; Call workload: naive recursive Fibonacci, fib(FIB_N) per iteration, so
; about one CALL and one RET in every 5.4 instructions.
;
; Dynamic instructions per iteration, with F(k) the k-th Fibonacci number:
;   a call of fib with n >= 2 (an inner node) runs 12 instructions of its own
;   (cmp jb push mov dec call xchg sub call add pop ret), a call with n < 2
;   (a leaf) runs 3 (cmp jb ret). fib(n) makes F(n+1) leaves and F(n+1) - 1
;   inner nodes. The iteration loop adds 5 (mov call add dec jnz).
;   per iteration = 5 + 12 * (F(n+1) - 1) + 3 * F(n+1)
;   FIB_N = 20: F(21) = 10946, so 5 + 131340 + 32838 = 164183.

%define WL_NAME 'call'
%include "boot.inc"

FIB_N equ 20

wl_setup:
        ret

wl_run:
        mov ecx, [iter_count]
        xor edi, edi
.iter:  mov eax, FIB_N                  ; 1
        call fib                        ; 2
        add edi, eax                    ; 3
        dec ecx                         ; 4
        jnz .iter                       ; 5
        mov [results], edi              ; iterations * fib(FIB_N), mod 2^32
        mov [results + 4], eax          ; fib(FIB_N) = 6765 for 20
        ret

; eax = n -> eax = fib(n); keeps every other register.
fib:
        cmp eax, 2
        jb .ret
        push ebx
        mov ebx, eax
        dec eax
        call fib                        ; fib(n - 1)
        xchg ebx, eax                   ; ebx = fib(n - 1), eax = n
        sub eax, 2
        call fib                        ; fib(n - 2)
        add eax, ebx
        pop ebx
.ret:   ret

        IMAGE_END
