; bios-system: INT 11h (equipment), INT 12h (conventional memory) and the INT 15h services a
; loader uses: the E820 memory map (walked to its end), the A20 gate (AX=2400h-2403h, checked
; with a wraparound test), extended memory sizes (88h, E801h) and the wait (86h). The tests run
; both machines with 64 MiB of RAM, so the sizes printed here are the same on both.
; image: floppy
%include "lib/boot16.inc"

SMAP equ 0x534D4150

main:
    int 0x11
    PRINT 'INT 11h: AX='
    HEX ax, 4
    PRINTLN
    int 0x12
    PRINT 'INT 12h: AX='
    HEX ax, 4
    PRINT ' ('
    movzx eax, ax
    DEC eax
    PRINTLN ' KiB)'

    ; E820: EBX = 0 starts the walk, the BIOS returns the next EBX, 0 after the last entry.
    PRINTLN 'INT 15h E820:'
    xor ebx, ebx
    xor bp, bp                      ; entries seen
.e820:
    mov di, entry
    mov dword [entry + 20], 1       ; ACPI 3.0 attributes: "valid" if the BIOS leaves them
    mov eax, 0xE820
    mov edx, SMAP
    mov ecx, 24
    int 0x15
    SAVE_FLAGS
    jc .e820_error
    PRINT '  '
    HEX dword [entry + 4], 8
    HEX dword [entry], 8
    PRINT ' +'
    HEX dword [entry + 12], 8
    HEX dword [entry + 8], 8
    PRINT ' type '
    HEX dword [entry + 16], 1
    PRINT ' (ECX='
    HEX cl, 2
    PRINT ', EAX is SMAP: '
    cmp eax, SMAP
    call print_yes_no
    PRINT ', next EBX='
    HEX ebx, 8
    PRINTLN ')'
    inc bp
    cmp bp, 32
    jae .e820_done
    test ebx, ebx
    jnz .e820
    jmp .e820_done
.e820_error:
    PRINT '  error: '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINTLN
.e820_done:
    PRINT '  '
    movzx eax, bp
    DEC eax
    PRINTLN ' entries'
    mov eax, 0xE820                 ; a wrong signature in EDX
    xor ebx, ebx
    mov ecx, 20
    mov edx, 0x12345678
    mov di, entry
    int 0x15
    SAVE_FLAGS
    PRINT '  EDX not SMAP: '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINTLN

    ; Extended memory sizes.
    mov ah, 0x88
    int 0x15
    SAVE_FLAGS
    PRINT 'INT 15h AH=88h: '
    call print_cf
    PRINT ' AX='
    HEX ax, 4
    PRINTLN
    mov ax, 0xE801
    xor bx, bx
    xor cx, cx
    xor dx, dx
    int 0x15
    SAVE_FLAGS
    PRINT 'INT 15h AX=E801h: '
    call print_cf
    PRINT ' AX='
    HEX ax, 4
    PRINT ' BX='
    HEX bx, 4
    PRINT ' CX='
    HEX cx, 4
    PRINT ' DX='
    HEX dx, 4
    PRINTLN

    ; A20 through the BIOS, each state checked by the wraparound test.
    mov ax, 0x2403
    int 0x15
    SAVE_FLAGS
    PRINT 'INT 15h AX=2403h (support): '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINT ' BX='
    HEX bx, 4
    PRINTLN
    PRINT 'A20 at boot: '
    call a20_status
    mov ax, 0x2400
    int 0x15
    SAVE_FLAGS
    PRINT 'AX=2400h (disable): '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINT '; '
    call a20_status
    mov ax, 0x2401
    int 0x15
    SAVE_FLAGS
    PRINT 'AX=2401h (enable): '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINT '; '
    call a20_status
    mov ax, 0x24FF
    int 0x15
    SAVE_FLAGS
    PRINT 'AX=24FFh (no such subfunction): '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINTLN

    ; Wait 1000 microseconds (CX:DX): it returns, carry clear.
    mov ah, 0x86
    xor cx, cx
    mov dx, 1000
    int 0x15
    SAVE_FLAGS
    PRINT 'INT 15h AH=86h (wait 1 ms): '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINTLN
    PRINTLN 'bios-system: done'
    ret

; a20_status: AX=2402h's AL, and what the wraparound test sees: 0000:0500 and FFFF:0510 are
; the same byte when A20 is off.
a20_status:
    push ds
    push es
    mov ax, 0x2402
    int 0x15
    SAVE_FLAGS
    PRINT 'AX=2402h '
    call print_cf
    PRINT ' AH='
    HEX ah, 2
    PRINT ' AL='
    HEX al, 2
    xor ax, ax
    mov ds, ax
    dec ax
    mov es, ax
    mov byte [0x0500], 0x11
    mov byte [es:0x0510], 0x22
    PRINT ', wraparound: '
    cmp byte [0x0500], 0x22
    je .wraps
    PRINTLN 'no (A20 on)'
    jmp .done
.wraps:
    PRINTLN 'yes (A20 off)'
.done:
    pop es
    pop ds
    ret

; print_yes_no: "yes" when ZF is set.
print_yes_no:
    jne .no
    PRINT 'yes'
    ret
.no:
    PRINT 'no'
    ret

entry: times 24 db 0

GUEST_END
IMAGE_END FLOPPY_BYTES
