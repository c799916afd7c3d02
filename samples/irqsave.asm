; irqsave.asm: a kernel idiom that trap-and-emulate gets wrong, and binary translation gets right.
;
; Kernels guard data that an interrupt handler also touches with "irqsave / irqrestore":
;
;     pushfd          ; save EFLAGS, with whatever IF was
;     cli             ; no interrupts while the data is inconsistent
;     ...             ; the critical section
;     popfd           ; put IF back as it was
;
; POPFD is *sensitive* (at ring 0 it changes IF) but not *privileged*: at a ring above IOPL it does
; not fault, it silently leaves IF alone. A trap-and-emulate monitor runs the guest kernel at ring 1
; with IOPL 0, so its CLI traps (the monitor clears the guest's virtual IF) but the POPFD that should
; set IF again never reaches the monitor. This is the classic x86 "virtualization hole" (Popek and
; Goldberg's condition fails). This kernel waits for each timer tick with HLT right after the
; critical section; with IF still clear in the monitor's eyes, the first HLT never wakes up.
;
; Run it:
;     npx ringside run samples/irqsave.asm --mode none --stats                  prints both lines, status 1
;     npx ringside run samples/irqsave.asm --mode vtx --stats                   the same (the CPU virtualizes IF)
;     npx ringside run samples/irqsave.asm --mode binary-translation --stats    the same: POPFD is rewritten
;     npx ringside run samples/irqsave.asm --mode trap-and-emulate --stats      first line only, then
;         "guest halted ... with interrupts disabled" (status 71); --stats counts the hole ("popf x1")
;         and the debugger's hole list shows it: IF stays 0, where bare hardware gives IF=1.
; On QEMU (plain hardware), after `nasm -f bin samples/irqsave.asm -o irqsave.bin`:
;     qemu-system-i386 -display none -serial stdio \
;         -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel irqsave.bin
;
; A multiboot kernel (a.out kludge, as kernel.asm) at 1 MiB; it also runs as a flat binary
; (`--format flat`), entered at its first byte. 32-bit protected mode, paging off, console on COM1.

bits 32
org 0x100000

MULTIBOOT_MAGIC equ 0x1BADB002
MULTIBOOT_FLAGS equ 0x00010000      ; bit 16: load addresses in the header (a.out kludge)

COM1        equ 0x3F8
EXIT_PORT   equ 0xF4                ; isa-debug-exit: status (value << 1) | 1
KERNEL_CS   equ 0x08
KERNEL_DS   equ 0x10
TIMER_VEC   equ 0x20                ; IRQ0 after the PIC is remapped
PIT_DIVISOR equ 11932               ; 1193182 Hz / 11932 = 100 Hz
TICKS       equ 3

%macro PUTS 1
    mov esi, %1
    call puts
%endmacro

entry:
    jmp start                       ; as a flat binary the first byte is the entry: skip the header

align 4
multiboot_header:
    dd MULTIBOOT_MAGIC
    dd MULTIBOOT_FLAGS
    dd -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)     ; the three fields sum to zero
    dd multiboot_header                         ; header_addr
    dd entry                                    ; load_addr: the file's first byte
    dd image_end                                ; load_end_addr
    dd image_end                                ; bss_end_addr: no bss
    dd start                                    ; entry_addr

start:
    mov esp, 0x90000
    ; Our own GDT: a multiboot loader promises flat segments, not which selectors hold them, and the
    ; timer's gate below names KERNEL_CS.
    lgdt [gdt_descriptor]
    jmp KERNEL_CS:.cs_loaded
.cs_loaded:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov ss, ax
    call serial_init

    ; IDT: only the timer. The gate is a 32-bit interrupt gate (DPL 0), so the CPU clears IF on entry
    ; and the handler's IRETD restores it.
    mov eax, timer
    mov [idt + TIMER_VEC * 8], ax
    mov word [idt + TIMER_VEC * 8 + 2], KERNEL_CS
    mov word [idt + TIMER_VEC * 8 + 4], 0x8E00
    shr eax, 16
    mov [idt + TIMER_VEC * 8 + 6], ax
    lidt [idt_descriptor]

    ; PIC: IRQ 0-7 -> vectors 0x20-0x27, IRQ 8-15 -> 0x28-0x2F (away from the CPU's exceptions);
    ; then mask everything but IRQ0.
    mov al, 0x11                    ; ICW1: edge triggered, cascade, ICW4 follows
    out 0x20, al
    out 0xA0, al
    mov al, 0x20                    ; ICW2: vector bases
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 4                       ; ICW3: the slave on IRQ2
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1                       ; ICW4: 8086 mode
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE                    ; OCW1: only IRQ0
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al

    ; PIT channel 0: a rate generator at 100 Hz, the tick HLT waits for.
    mov al, 0x34
    out 0x43, al
    mov al, PIT_DIVISOR & 0xFF
    out 0x40, al
    mov al, PIT_DIVISOR >> 8
    out 0x40, al

    PUTS msg_start
    sti
.wait:
    pushfd                          ; irqsave: IF is 1 here, and that is what POPFD will restore
    cli
    inc dword [sections]            ; the data the timer could also touch
    popfd                           ; irqrestore: IF back to 1 (under trap-and-emulate: a hole)
    hlt                             ; sleep until the next tick; with IF = 0 nothing wakes it
    cmp dword [ticks], TICKS
    jb .wait
    cli
    PUTS msg_done
    mov al, 0
    out EXIT_PORT, al               ; the run ends with status 1
    hlt                             ; only reached without an exit device

; IRQ0: count the tick and acknowledge it at the PIC (non-specific EOI).
timer:
    inc dword [ticks]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iretd

; serial_init: COM1 at 115200 baud (divisor 1), 8N1, no UART interrupts, polled.
serial_init:
    mov dx, COM1 + 1
    mov al, 0
    out dx, al                      ; IER: no interrupts
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                      ; LCR: DLAB = 1, to reach the divisor
    mov dx, COM1
    mov al, 1
    out dx, al                      ; divisor low
    mov dx, COM1 + 1
    mov al, 0
    out dx, al                      ; divisor high
    mov dx, COM1 + 3
    mov al, 3
    out dx, al                      ; LCR: 8N1, DLAB = 0
    ret

; puts: send the NUL-terminated string at ESI to COM1, each byte when the transmitter is empty.
puts:
    lodsb
    test al, al
    jz .end
    mov ah, al
    mov dx, COM1 + 5
.ready:
    in al, dx                       ; LSR bit 5: transmit holding register empty
    test al, 0x20
    jz .ready
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp puts
.end:
    ret

msg_start: db "irqsave: PUSHFD; CLI; ...; POPFD; then HLT for each tick", 10, 0
msg_done:  db "irqsave: 3 ticks, interrupts came back after every POPFD", 10, 0
ticks:     dd 0
sections:  dd 0

align 8
gdt:
    dq 0                            ; the null descriptor
    dq 0x00CF9A000000FFFF           ; 0x08: code, base 0, limit 4 GiB, DPL 0, 32-bit
    dq 0x00CF92000000FFFF           ; 0x10: data, base 0, limit 4 GiB, DPL 0, writable
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
idt_descriptor:
    dw 256 * 8 - 1
    dd idt
align 8
idt: times 256 * 8 db 0
image_end:
