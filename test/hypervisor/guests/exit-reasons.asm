; Exit reasons for test/hypervisor/exits.test.ts: a multiboot guest (built on test/guests/lib) that
; executes one instruction or event of each kind a vtx hypervisor can be asked to exit on, each
; announced by a letter on port 0xE9 (so the test knows where each exit belongs):
;   c CPUID, t RDTSC, m RDMSR/WRMSR of IA32_PAT (not passed through), d MOV from/to DR7,
;   g SGDT/LGDT/SLDT/STR, w WBINVD and INVD, p a PAUSE loop of 10000 instructions,
;   u UD2 (a #UD the hypervisor reflects), e an IRQ arriving while the guest runs with IF = 1,
;   i an IRQ made pending with IF = 0, then STI (the interrupt window).
; Assemble with `nasm -f bin -i test/guests/ exit-reasons.asm`.
%include "lib/guest.inc"

%macro MARK 1
    mov al, %1
    out 0xe9, al
%endmacro

main:
    PRINTLN "exit reasons"
    mov dword [hooks + 0x20 * 4], irq0_hook

    MARK 'c'
    xor eax, eax
    cpuid
    MARK 't'
    rdtsc
    MARK 'm'
    mov ecx, 0x277
    rdmsr
    wrmsr
    MARK 'd'
    mov eax, dr7
    mov dr7, eax
    MARK 'g'
    sgdt [gdt_save]
    lgdt [gdt_save]
    sldt ax
    str ax
    MARK 'w'
    wbinvd
    invd
    MARK 'p'
    mov ecx, 5000
.spin:
    pause
    loop .spin
    MARK 'u'
    PRINT "UD2: "
    TRY0 do_ud2

    MARK 'e'                    ; the PIT fires while the guest runs with interrupts on
    mov dword [irq_seen], 0
    call start_pit
    sti
.wait:
    cmp dword [irq_seen], 0
    je .wait
    cli
    PRINTLN "IRQ0 taken while running"

    MARK 'i'                    ; pending with IF = 0, then STI opens the window
    mov dword [irq_seen], 0
    call start_pit
.poll:
    mov al, 0x0A                ; OCW3: read the IRR
    out 0x20, al
    in al, 0x20
    test al, 1
    jz .poll
    sti
    nop
    cli
    PRINTLN "IRQ0 taken after STI"
    MARK '.'
    ret

do_ud2:
    ud2

; PIT channel 0, mode 0, a short count; IRQ0 unmasked.
start_pit:
    mov al, 0x30
    out 0x43, al
    mov al, 0x40
    out 0x40, al
    xor al, al
    out 0x40, al
    mov al, 0xFE
    out 0x21, al
    ret

irq0_hook:
    mov dword [irq_seen], 1
    mov al, 0x20                ; EOI, and mask IRQ0 again
    out 0x20, al
    mov al, 0xFF
    out 0x21, al
    clc
    ret

irq_seen: dd 0
gdt_save: dw 0
          dd 0

GUEST_END
