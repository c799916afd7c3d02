; irqsave: a kernel that protects a counter with the irqsave/irqrestore idiom - PUSHFD; CLI; ...;
; POPFD - and waits for timer ticks with HLT. Correct on bare hardware, under vtx and under binary
; translation. Under trap-and-emulate the POPFD runs at ring 1 and cannot set IF back (a
; virtualization hole): the first HLT then waits with interrupts off, forever.
; A flat binary: 32-bit protected mode, paging off, IF clear; prints on port 0xE9.

bits 32
org 0x100000

PIT_DIVISOR equ 11932           ; 100 Hz
TICKS       equ 3

%macro PUTS 1
    mov esi, %1
    call puts
%endmacro

start:
    mov esp, 0x90000
    mov eax, timer              ; IRQ0 (vector 0x20) -> timer, 32-bit interrupt gate, DPL 0
    mov [idt + 0x20 * 8], ax
    mov word [idt + 0x20 * 8 + 2], 0x08
    mov word [idt + 0x20 * 8 + 4], 0x8E00
    shr eax, 16
    mov [idt + 0x20 * 8 + 6], ax
    lidt [idt_descriptor]
    mov al, 0x11                ; PIC: IRQ 0-7 -> 0x20-0x27, IRQ 8-15 -> 0x28-0x2F
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE                ; only IRQ0
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    mov al, 0x34                ; PIT channel 0, rate generator
    out 0x43, al
    mov al, PIT_DIVISOR & 0xFF
    out 0x40, al
    mov al, PIT_DIVISOR >> 8
    out 0x40, al
    PUTS msg_start
    sti
.wait:
    pushfd                      ; irqsave
    cli
    inc dword [sections]
    popfd                       ; irqrestore: IF back on
    hlt                         ; the next tick
    cmp dword [ticks], TICKS
    jb .wait
    cli
    PUTS msg_done
    mov al, 0
    out 0xf4, al
    hlt

timer:
    inc dword [ticks]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iretd

puts:
    lodsb
    test al, al
    jz .end
    out 0xe9, al
    jmp puts
.end:
    ret

msg_start: db "irqsave: PUSHFD; CLI; ...; POPFD; then HLT for each tick", 10, 0
msg_done:  db "irqsave: 3 ticks, interrupts came back after every POPFD", 10, 0
ticks:     dd 0
sections:  dd 0
idt_descriptor:
    dw 256 * 8 - 1
    dd idt
align 8
idt: times 256 * 8 db 0
