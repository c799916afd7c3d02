; hello-boot.asm: the smallest Ringside guest, a 512-byte boot sector.
;
; The BIOS loads it at 0000:7C00 in real mode. It prints a greeting twice, on the screen
; through the BIOS (INT 10h, AH=0Eh teletype) and on the first serial port (COM1, a 16550A
; UART at 0x3F8, programmed and polled directly), then ends the run by writing 0 to port
; 0xF4 (QEMU's isa-debug-exit device, which Ringside provides too): the emulator exits
; with status (0 << 1) | 1 = 1.
;
;     nasm -f bin samples/hello-boot.asm -o hello-boot.img
;     ringside run hello-boot.img
;     qemu-system-i386 -display none -serial stdio \
;         -device isa-debug-exit,iobase=0xf4,iosize=0x04 -drive file=hello-boot.img,format=raw,if=floppy

bits 16
org 0x7C00

COM1 equ 0x3F8

start:
    cli
    jmp 0x0000:.flat_cs             ; some BIOSes enter at 07C0:0000: make CS = 0
.flat_cs:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00                  ; the stack grows down below the boot sector
    cld

    call serial_init
    mov si, greeting
.next_char:
    lodsb
    test al, al
    jz .done
    call screen_putc
    call serial_putc
    jmp .next_char

.done:
    mov al, 0                       ; exit status (0 << 1) | 1 = 1
    out 0xF4, al
.halt:                              ; reached only without an exit device
    hlt
    jmp .halt

; serial_init: 115200 baud (divisor 1), 8 data bits, no parity, 1 stop bit, polled.
serial_init:
    mov dx, COM1 + 1                ; IER: no interrupts
    mov al, 0x00
    out dx, al
    mov dx, COM1 + 3                ; LCR: set DLAB to reach the divisor latch
    mov al, 0x80
    out dx, al
    mov dx, COM1 + 0                ; divisor low byte
    mov al, 0x01
    out dx, al
    mov dx, COM1 + 1                ; divisor high byte
    mov al, 0x00
    out dx, al
    mov dx, COM1 + 3                ; LCR: DLAB off, 8N1
    mov al, 0x03
    out dx, al
    ret

; serial_putc: send AL once the transmit holding register is empty (LSR bit 5).
serial_putc:
    push ax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop ax
    mov dx, COM1
    out dx, al
    ret

; screen_putc: BIOS teletype output of AL; a newline becomes CR LF on the screen.
screen_putc:
    pusha
    cmp al, 10
    jne .plain
    mov ax, 0x0E0D
    mov bx, 0x0007
    int 0x10
    popa
    pusha
.plain:
    mov ah, 0x0E
    mov bx, 0x0007                  ; page 0, light grey
    int 0x10
    popa
    ret

greeting:
    db "Hello from a boot sector!", 10
    db "Real mode at 0000:7C00, printing through INT 10h and COM1.", 10
    db "Bye: writing 0 to port 0xF4.", 10, 0

    times 510 - ($ - $$) db 0
    dw 0xAA55                       ; boot signature
