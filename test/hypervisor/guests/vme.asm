; vme: CR4.VME on, then into virtual-8086 mode (test/hypervisor/trap-and-emulate.test.ts). The
; monitor does not model the virtual-8086 mode extensions, so it stops such a guest with a message;
; on bare hardware the v86 code's INT3 comes back to ring 0. Assemble with -i test/guests/.
%include "lib/guest.inc"

main:
    PRINTLN "vme: CR4.VME on, then into v86 mode"
    mov eax, cr4
    or eax, 1                   ; CR4.VME
    mov cr4, eax
    mov byte [0x8000], 0xCC     ; the v86 code at 0800:0000: INT3
    GATE 3, [isr_stubs + 3 * 4], GATE_INT3
    pushad
    mov dword [trap_base], 0
    mov [catch_esp], esp
    mov dword [catch_resume], .back
    push dword 0                ; GS
    push dword 0                ; FS
    push dword 0x0800           ; DS
    push dword 0x0800           ; ES
    push dword 0x0800           ; SS
    push dword 0xF000           ; ESP
    push dword (1 << 17) | 0x2  ; EFLAGS: VM
    push dword 0x0800           ; CS
    push dword 0                ; EIP
    iretd
.back:
    popad
    PRINT "back from v86: "
    call print_outcome
    ret
GUEST_END
