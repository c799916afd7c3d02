; shadows: the interrupt shadows. An IRQ is made pending with IF = 0 (PIT channel 0 in
; mode 0, then polling the master PIC's IRR until bit 0 is set), then:
;   - STI: the interrupt comes after the instruction that follows STI, not before it;
;   - STI; HLT: the interrupt wakes the HLT, returning past it;
;   - POPF and IRET setting IF have no shadow: the interrupt comes right after them;
;   - MOV SS and POP SS hold back a single-step trap until after the next instruction.
; Offsets are from the instruction that sets IF (or from the first stepped instruction).
%include "lib/guest.inc"

main:
    PRINTLN "shadows: STI, MOV SS and POP SS interrupt shadows"
    mov dword [hooks + 0x20 * 4], irq0_hook
    mov dword [hooks + 1 * 4], db_hook

    call make_irq0_pending
    PRINT "STI; MOV EBX,1; MOV ECX,2: "
    xor ebx, ebx
    xor ecx, ecx
    mov dword [irq_base], .sti
.sti:
    sti
    mov ebx, 1
    mov ecx, 2
    cli
    call print_irq

    call make_irq0_pending
    PRINT "STI; HLT: "
    xor ebx, ebx
    xor ecx, ecx
    mov dword [irq_base], .hlt
.hlt:
    sti
    hlt
    cli
    call print_irq

    call make_irq0_pending
    PRINT "POPFD (IF=1); MOV EBX,1: "
    xor ebx, ebx
    xor ecx, ecx
    push dword 0x202
    mov dword [irq_base], .popf
.popf:
    popfd
    mov ebx, 1
    mov ecx, 2
    cli
    call print_irq

    call make_irq0_pending
    PRINT "IRETD (IF=1) to MOV EBX,1: "
    xor ebx, ebx
    xor ecx, ecx
    pushfd
    or dword [esp], 0x200
    push dword KCODE
    push dword .iret_target
    mov dword [irq_base], .iret_target
    iretd
.iret_target:
    mov ebx, 1
    mov ecx, 2
    cli
    call print_irq

    ; Single-step over MOV SS / POP SS: the trap after them is held back one instruction.
    PRINT "TF over MOV SS,AX; NOP; NOP; NOP: #DB after +"
    mov dword [db_count], 0
    mov ax, ss
    pushfd
    or dword [esp], 0x100
    mov dword [db_base], .mov_ss
    popfd
.mov_ss:
    mov ss, ax
    nop
    nop
    nop
    pushfd
    and dword [esp], ~0x100
    popfd
    call print_db

    PRINT "TF over POP SS; NOP; NOP: #DB after +"
    mov dword [db_count], 0
    push ss
    pushfd
    or dword [esp], 0x100
    mov dword [db_base], .pop_ss
    popfd
.pop_ss:
    pop ss
    nop
    nop
    pushfd
    and dword [esp], ~0x100
    popfd
    call print_db
    ret

; make_irq0_pending: PIT channel 0, mode 0, count 2; wait (IF = 0) until IRR bit 0 is set,
; with only IRQ0 unmasked.
make_irq0_pending:
    mov dword [irq_eip], 0
    mov al, 0x30                ; channel 0, lobyte/hibyte, mode 0
    out 0x43, al
    mov al, 2
    out 0x40, al
    xor al, al
    out 0x40, al
    mov al, 0xFE
    out 0x21, al
.poll:
    mov al, 0x0A                ; OCW3: read the IRR
    out 0x20, al
    in al, 0x20
    test al, 1
    jz .poll
    ret

; irq0_hook: note where IRQ0 arrived and what EBX and ECX held; EOI and mask it.
irq0_hook:
    mov eax, [ebp + F_EIP]
    mov [irq_eip], eax
    mov eax, [ebp + F_EBX]
    mov [irq_ebx], eax
    mov eax, [ebp + F_ECX]
    mov [irq_ecx], eax
    mov al, 0x20
    out 0x20, al
    mov al, 0xFF
    out 0x21, al
    clc
    ret

print_irq:
    cmp dword [irq_eip], 0
    jne .taken
    PRINTLN "IRQ0 not taken"
    ret
.taken:
    PRINT "IRQ0 at +"
    mov eax, [irq_eip]
    sub eax, [irq_base]
    call print_dec
    PRINT " with EBX="
    PDEC [irq_ebx]
    PRINT " ECX="
    PDEC [irq_ecx]
    PRINTLN
    ret

; db_hook: record single-step traps (offsets from db_base).
db_hook:
    mov eax, [db_count]
    cmp eax, 16
    jae .full
    mov ecx, [ebp + F_EIP]
    sub ecx, [db_base]
    mov [db_eips + eax * 4], ecx
    inc dword [db_count]
.full:
    xor eax, eax
    mov dr6, eax
    clc
    ret

print_db:
    xor ebx, ebx
.next:
    cmp ebx, [db_count]
    jae .done
    test ebx, ebx
    jz .first
    PRINT " +"
.first:
    PDEC [db_eips + ebx * 4]
    inc ebx
    jmp .next
.done:
    PRINTLN
    ret

align 4
irq_base: dd 0
irq_eip:  dd 0
irq_ebx:  dd 0
irq_ecx:  dd 0
db_base:  dd 0
db_count: dd 0
db_eips:  times 16 dd 0
GUEST_END
