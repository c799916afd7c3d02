; task-switch: hardware task switches. JMP to a TSS (busy bits move, no link, NT clear),
; CALL to a TSS and a task gate (link and NT set, the caller stays busy, IRET returns),
; INT n and exceptions through IDT task gates (the error code lands on the new task's
; stack), the registers each task keeps, CR0.TS after a switch, and the faults: a busy
; TSS (#GP) and a TSS limit below 67h (#TS).
%include "lib/guest.inc"

TASK_A    equ 0x40              ; TSS descriptors
TASK_B    equ 0x48
TASK_C    equ 0x50
TASK_GATE equ 0x58              ; task gate -> TASK_B
TASK_TINY equ 0x60              ; TSS descriptor with limit 50h
SEL_BEYOND equ GDT_ENTRIES * 8
VEC_TASK  equ 0x3E              ; IDT task gate -> TASK_B, DPL 3

; TASK selector, tss, entry, stack top: a ring-0 task with flat segments.
%macro TASK 4
    DESC %1, %2, 0x67, ACC_P | T_TSS32, 0
    mov dword [%2 + tss32.eip], %3
    mov dword [%2 + tss32.esp], %4
    mov dword [%2 + tss32.eflags], 0x2
    mov dword [%2 + tss32.cs], KCODE
    mov dword [%2 + tss32.ss], KDATA
    mov dword [%2 + tss32.ds], KDATA
    mov dword [%2 + tss32.es], KDATA
    mov dword [%2 + tss32.fs], KDATA
    mov dword [%2 + tss32.gs], KDATA
    mov word [%2 + tss32.iomap], 0x68
%endmacro

main:
    PRINTLN "task-switch: hardware task switching"
    TASK TASK_A, tss_a, task_a, 0x240000
    TASK TASK_B, tss_b, task_b, 0x238000
    TASK TASK_C, tss_c, task_c, 0x230000
    mov dword [tss_a + tss32.eax], 0xAAAA0001
    mov dword [tss_a + tss32.ecx], 0
    DESC TASK_TINY, tss_tiny, 0x50, ACC_P | T_TSS32, 0
    mov word [gdt + TASK_GATE + 2], TASK_B
    mov byte [gdt + TASK_GATE + 5], ACC_P | T_TASKGATE
    mov word [idt + VEC_TASK * 8 + 2], TASK_B
    mov byte [idt + VEC_TASK * 8 + 5], ACC_P | ACC_DPL3 | T_TASKGATE
    call print_busy

    ; JMP to a task and back, twice: the second time task A resumes where it left off.
    mov ebx, 0x0B0B0B0B
    mov esi, 0x05050505
    PRINTLN "main: JMP TASK_A"
    jmp TASK_A:0
    PRINT "main: back, EBX="
    PHEX32 ebx
    PRINT " ESI="
    PHEX32 esi
    call print_ts
    clts
    PRINTLN "main: JMP TASK_A again"
    jmp TASK_A:0
    PRINTLN "main: back again"
    call print_busy

    ; CALL to a task, a task gate, INT n through an IDT task gate.
    PRINTLN "main: CALL TASK_B"
    call TASK_B:0
    PRINT "main: returned from task B, NT="
    call print_nt
    call print_busy
    PRINTLN "main: CALL task gate -> TASK_B"
    call TASK_GATE:0
    PRINTLN "main: INT 3Eh (IDT task gate -> TASK_B)"
    int VEC_TASK
    PRINTLN "main: INT 3Eh from CPL 3"
    TRY3 int_task_gate

    ; Exceptions through task gates: #UD (no error code), #GP (error code on C's stack).
    mov word [idt + 6 * 8 + 2], TASK_C
    mov byte [idt + 6 * 8 + 5], ACC_P | T_TASKGATE
    mov word [idt + 13 * 8 + 2], TASK_C
    mov byte [idt + 13 * 8 + 5], ACC_P | T_TASKGATE
    mov dword [c_has_error], 0
    PRINTLN "main: UD2 with IDT vector 6 a task gate"
    ud2
    PRINTLN "main: resumed after UD2"
    mov dword [c_has_error], 1
    PRINTLN "main: MOV DS,0100h with IDT vector 13 a task gate"
    mov ax, SEL_BEYOND
    mov ds, ax
    PRINTLN "main: resumed after the MOV"
    mov eax, 6
    mov ebx, [isr_stubs + 6 * 4]
    mov cx, KCODE
    mov dl, GATE_INT
    call set_gate
    mov eax, 13
    mov ebx, [isr_stubs + 13 * 4]
    call set_gate

    ; Faults.
    PRINT "JMP to the busy current TSS: "
    TRY0 jmp_self
    PRINT "CALL to the busy current TSS: "
    TRY0 call_self
    PRINT "JMP to a TSS with limit 50h: "
    TRY0 jmp_tiny
    PRINT "CALL to a TSS from CPL 3 (DPL 0): "
    TRY3 call_task_b
    call print_busy
    ret

jmp_self:   jmp TSS_SEL:0
call_self:  call TSS_SEL:0
jmp_tiny:   jmp TASK_TINY:0
call_task_b:
    call TASK_B:0
    int VEC_DONE
int_task_gate:
    int VEC_TASK
    int VEC_DONE

; task_a: reached by JMP. Shows its view, jumps back; resumes here the second time.
task_a:
    PRINT "task A: EAX="
    PHEX32 eax                  ; loaded from tss_a
    PRINT " TR="
    str ax
    PHEX16 eax
    PRINT " link="
    PHEX16 [tss_a + tss32.link]
    PRINT " NT="
    call print_nt
    call print_busy
    inc ecx
    jmp TSS_SEL:0
    PRINT "task A: resumed after its JMP, ECX="
    inc ecx
    PHEX32 ecx
    PRINTLN
    jmp TSS_SEL:0

; task_b: reached by CALL, task gate or INT: NT set, link = the caller. IRET returns.
task_b:
    PRINT "task B: link="
    PHEX16 [tss_b + tss32.link]
    PRINT " NT="
    call print_nt
    call print_busy
    iretd
    jmp task_b                  ; the next switch to B resumes after IRET

; task_c: reached by exceptions through task gates.
task_c:
    cmp dword [c_has_error], 0
    je .no_error
    pop eax
    PRINT "task C: error code "
    PHEX16 eax
    PRINT ", "
    add dword [tss + tss32.eip], 2      ; skip the faulting MOV DS,AX
    jmp .report
.no_error:
    PRINT "task C: "
    add dword [tss + tss32.eip], 2      ; skip UD2
.report:
    PRINT "link="
    PHEX16 [tss_c + tss32.link]
    PRINT " NT="
    call print_nt
    iretd
    jmp task_c

; print_nt: EFLAGS.NT now, then a newline.
print_nt:
    pushfd
    pop eax
    shr eax, 14
    and eax, 1
    call print_dec
    PRINTLN
    ret

; print_ts: CR0.TS, set by every task switch.
print_ts:
    PRINT " CR0.TS="
    mov eax, cr0
    shr eax, 3
    and eax, 1
    call print_dec
    PRINTLN
    ret

; print_busy: the type (9 available, B busy) of each TSS descriptor.
print_busy:
    PRINT "  busy: main="
    movzx eax, byte [gdt + TSS_SEL + 5]
    and al, 0x0F
    call print_hex8
    PRINT " A="
    movzx eax, byte [gdt + TASK_A + 5]
    and al, 0x0F
    call print_hex8
    PRINT " B="
    movzx eax, byte [gdt + TASK_B + 5]
    and al, 0x0F
    call print_hex8
    PRINT " C="
    movzx eax, byte [gdt + TASK_C + 5]
    and al, 0x0F
    call print_hex8
    PRINTLN
    ret

align 4
c_has_error: dd 0
align 16
tss_a: times 104 db 0
tss_b: times 104 db 0
tss_c: times 104 db 0
tss_tiny: times 104 db 0
GUEST_END
