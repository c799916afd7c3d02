; bios-vectors: the interrupt vector table as the BIOS leaves it, hooking and chaining vectors
; (INT 1Ch from the timer, INT 10h), the timer tick count (INT 1Ah AH=00h) advancing under
; STI/HLT, the real-time clock (INT 1Ah AH=02h/04h: only that the values are BCD, the time
; itself differs), and the keyboard services (INT 16h) fed through the keyboard controller's
; "write output buffer" command (D2h), which hands a scancode to INT 09h as if a key was hit.
; image: floppy
%include "lib/boot16.inc"

main:
    ; Where the BIOS vectors point: the segment of each (offsets are the BIOS's own business).
    PRINT 'IVT segments:'
    mov si, vectors
.vector:
    lodsb
    cmp al, 0xFF
    je .vectors_done
    PRINT ' '
    HEX al, 2
    PRINT '='
    movzx bx, al
    shl bx, 2
    HEX [bx + 2], 4
    jmp .vector
.vectors_done:
    PRINTLN

    ; INT 10h belongs to the video card's option ROM: signature 55h AAh, size, bytes summing to 0.
    push ds
    mov ax, 0xC000
    mov ds, ax
    PRINT 'video ROM at C000:0000: signature '
    HEX [0], 2
    PRINT ' '
    HEX [1], 2
    PRINT ', its bytes sum to 0: '
    movzx cx, byte [2]              ; size in 512-byte blocks
    shl cx, 9
    xor si, si
    xor al, al
.sum:
    add al, [si]
    inc si
    loop .sum
    pop ds
    test al, al
    setz al
    call print_yes
    PRINTLN

    ; INT 1Ch: hooked, chained to the BIOS's handler with PUSHF + CALL FAR.
    mov ah, 0x00
    int 0x1A
    SAVE_FLAGS
    mov [ticks], dx
    mov [ticks + 2], cx
    PRINT 'INT 1Ah AH=00h: '
    call print_cf
    PRINT ' AL='
    HEX al, 2
    PRINTLN
    mov eax, [0x1C * 4]
    mov [old1c], eax
    mov word [0x1C * 4], hook1c
    mov word [0x1C * 4 + 2], 0
    sti
.wait_ticks:
    hlt
    cmp word [hook1c_calls], 3
    jb .wait_ticks
    cli
    mov eax, [old1c]
    mov [0x1C * 4], eax
    PRINTLN 'INT 1Ch hooked: the handler ran on 3 timer ticks'
    mov ah, 0x00
    int 0x1A
    SAVE_FLAGS
    PRINT 'INT 1Ah AH=00h again: '
    call print_cf
    PRINT ', advanced by at least 3: '
    sub dx, [ticks]
    sbb cx, [ticks + 2]
    cmp dx, 3
    setae al
    or cx, cx
    setz ah
    and al, ah
    call print_yes
    PRINT ', BDA 0040:006C matches: '
    mov ax, [0x46C]
    sub ax, [ticks]
    cmp ax, dx
    sete al
    call print_yes
    PRINTLN

    ; INT 10h: hooked, chained with a far JMP; the hook counts teletype calls.
    mov ax, 0x0003
    int 0x10
    mov eax, [0x10 * 4]
    mov [old10], eax
    mov word [0x10 * 4], hook10
    mov word [0x10 * 4 + 2], 0
    mov ax, 0x0E48                  ; "Hi"
    xor bx, bx
    int 0x10
    mov ax, 0x0E69
    int 0x10
    mov eax, [old10]
    mov [0x10 * 4], eax
    PRINT 'INT 10h hooked: teletype calls seen '
    HEX [hook10_calls], 2
    PRINT ', screen row 0: '
    push es
    mov ax, 0xB800
    mov es, ax
    mov al, [es:0]
    call putc
    mov al, [es:2]
    call putc
    pop es
    PRINTLN

    ; The real-time clock: carry clear and BCD digits.
    mov ah, 0x02
    int 0x1A
    SAVE_FLAGS
    PRINT 'INT 1Ah AH=02h (time): '
    call print_cf
    PRINT ', CH/CL/DH are BCD: '
    mov al, ch
    call is_bcd
    mov al, cl
    call is_bcd
    mov al, dh
    call is_bcd
    call print_bcd_result
    PRINT ', DL='
    HEX dl, 2
    PRINTLN
    mov ah, 0x04
    int 0x1A
    SAVE_FLAGS
    PRINT 'INT 1Ah AH=04h (date): '
    call print_cf
    PRINT ', CH/CL/DH/DL are BCD: '
    mov al, ch
    call is_bcd
    mov al, cl
    call is_bcd
    mov al, dh
    call is_bcd
    mov al, dl
    call is_bcd
    call print_bcd_result
    PRINT ', century 19 or 20: '
    cmp ch, 0x19
    je .century
    cmp ch, 0x20
.century:
    sete al
    call print_yes
    PRINTLN

    ; Keyboard: nothing typed yet, then keys handed to INT 09h by the controller.
    mov ah, 0x01
    int 0x16
    SAVE_FLAGS
    PRINT 'INT 16h AH=01h with no key: ZF='
    call print_zf
    PRINTLN
    mov ah, 0x02
    int 0x16
    PRINT 'INT 16h AH=02h shift flags: AL='
    HEX al, 2
    PRINTLN
    mov al, 0x1E                    ; "a" pressed
    call inject
    mov al, 0x9E                    ; and released
    call inject
    mov ah, 0x01
    int 0x16
    SAVE_FLAGS
    PRINT 'after scancodes 1Eh 9Eh: AH=01h ZF='
    call print_zf
    PRINT ' AX='
    HEX ax, 4
    mov ah, 0x00
    int 0x16
    PRINT ', AH=00h AX='
    HEX ax, 4
    mov ah, 0x01
    int 0x16
    SAVE_FLAGS
    PRINT ', then AH=01h ZF='
    call print_zf
    PRINTLN
    mov al, 0x2A                    ; left shift held
    call inject
    mov ah, 0x02
    int 0x16
    PRINT 'left shift down: AH=02h AL='
    HEX al, 2
    mov al, 0x1E
    call inject
    mov al, 0x9E
    call inject
    mov al, 0xAA                    ; left shift released
    call inject
    mov ah, 0x00
    int 0x16
    PRINT ', "A" read as AX='
    HEX ax, 4
    mov ah, 0x02
    int 0x16
    PRINT ', shift up: AL='
    HEX al, 2
    PRINTLN

    ; INT 11h and INT 12h answer through their vectors too; every vector above was called.
    PRINTLN 'bios-vectors: done'
    ret

vectors: db 0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x15, 0x16, 0x19, 0x1A, 0x1C, 0x1E, 0x70
         db 0x60, 0x66, 0x79, 0xFF

; hook1c: count, then call the previous handler (it IRETs back here).
hook1c:
    inc word [cs:hook1c_calls]
    pushf
    call far [cs:old1c]
    iret
hook1c_calls: dw 0
old1c: dd 0

; hook10: count teletype calls, then jump to the previous handler.
hook10:
    cmp ah, 0x0E
    jne .chain
    inc word [cs:hook10_calls]
.chain:
    jmp far [cs:old10]
hook10_calls: dw 0
old10: dd 0

ticks: dd 0

; inject: put scancode AL in the keyboard controller's output buffer (command D2h) and let
; INT 09h take it (STI, then wait until the buffer is empty again).
inject:
    push ax
.ready:
    in al, 0x64
    test al, 0x02                   ; input buffer full: the controller is busy
    jnz .ready
    mov al, 0xD2
    out 0x64, al
.ready2:
    in al, 0x64
    test al, 0x02
    jnz .ready2
    pop ax
    out 0x60, al
    mov cx, 1000
    sti
.taken:
    in al, 0x64
    test al, 0x01                   ; output buffer full: INT 09h has not read it yet
    jz .done
    loop .taken
.done:
    cli
    ret

; is_bcd: clear [bcd_ok] unless both nibbles of AL are 0-9.
is_bcd:
    push ax
    mov ah, al
    and al, 0x0F
    shr ah, 4
    cmp al, 9
    ja .bad
    cmp ah, 9
    jbe .ok
.bad:
    mov byte [bcd_ok], 0
.ok:
    pop ax
    ret
bcd_ok: db 1
print_bcd_result:
    mov al, [bcd_ok]
    mov byte [bcd_ok], 1
    ; fall through
; print_yes: "yes" if AL is non-zero, else "no".
print_yes:
    test al, al
    jz .no
    PRINT 'yes'
    ret
.no:
    PRINT 'no'
    ret

print_zf:
    push ax
    mov ax, [saved_flags]
    shr ax, 6
    and al, 1
    add al, '0'
    call putc
    pop ax
    ret

GUEST_END
IMAGE_END FLOPPY_BYTES
