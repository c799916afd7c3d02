; smc: kernel code that rewrites itself. Under binary translation the translated block of `say` is
; dropped when its immediate is overwritten, and translated again. A flat binary; prints on 0xE9.
bits 32
org 0x100000
start:
    call say                    ; "A"
    mov byte [say + 1], 'B'     ; rewrite the immediate of MOV AL, 'A'
    call say                    ; "B"
    mov al, 10
    out 0xe9, al
    mov al, 0
    out 0xf4, al
    hlt
say:
    mov al, 'A'
    out 0xe9, al
    ret
