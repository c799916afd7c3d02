; single-step: EFLAGS.TF. A #DB trap follows every instruction that began with TF = 1, with
; DR6.BS set and EIP at the next instruction. Each line lists the trap offsets from the
; first instruction of the sequence, then DR6 at the last trap.
;   - TF set by POPFD: the first trap follows the instruction after the POPFD, and the
;     POPFD that clears TF still traps;
;   - REP MOVSB traps after each iteration;
;   - INT n clears TF for its handler; IRET restores it;
;   - an instruction that faults does not trap; the fault handler's IRET resumes stepping;
;   - a ring-3 sequence entered by IRET with TF = 1 traps after its first instruction.
%include "lib/guest.inc"

TF equ 0x100

%macro TF_ON 0
    pushfd
    or dword [esp], TF
    popfd
%endmacro
%macro TF_OFF 0
    pushfd
    and dword [esp], ~TF
    popfd
%endmacro

main:
    PRINTLN "single-step: TF traps"
    mov dword [hooks + 1 * 4], db_hook

    PRINT "straight line (4 instructions, then TF off): "
    call reset
    mov dword [db_base], .line
    TF_ON
.line:
    mov eax, 1
    add eax, eax
    xor ebx, ebx
    nop
    TF_OFF
    call print_db

    PRINT "REP MOVSB, ECX=3: "
    call reset
    mov esi, src
    mov edi, dst
    mov ecx, 3
    mov dword [db_base], .rep
    TF_ON
.rep:
    rep movsb
    nop
    TF_OFF
    call print_db

    PRINT "REP MOVSB, ECX=0: "
    call reset
    xor ecx, ecx
    mov dword [db_base], .rep0
    TF_ON
.rep0:
    rep movsb
    nop
    TF_OFF
    call print_db

    PRINT "INT 31h (handler not stepped): "
    call reset
    mov esi, empty
    mov dword [db_base], .int
    TF_ON
.int:
    nop
    int VEC_PUTS
    nop
    TF_OFF
    call print_db

    PRINT "a faulting MOV (#GP, handler skips it): "
    call reset
    mov dword [hooks + 13 * 4], skip_mov_ds
    mov dword [db_base], .fault
    TF_ON
.fault:
    nop
    mov ax, GDT_ENTRIES * 8     ; beyond the GDT limit
    mov ds, ax                  ; #GP, skipped by the handler
    nop
    TF_OFF
    mov dword [hooks + 13 * 4], 0
    call print_db

    PRINT "ring 3, IRET with TF=1: "
    call reset
    mov dword [db_base], user_steps
    mov eax, user_steps
    mov edx, 0x302
    call try_ring3
    call print_db
    PRINT "  ended with "
    call print_outcome
    ret

user_steps:
    mov eax, 1
    inc eax
    nop
    int VEC_DONE

; skip_mov_ds: the #GP hook for the faulting test: step over the 2-byte MOV DS,AX.
skip_mov_ds:
    add dword [ebp + F_EIP], 2
    clc
    ret

reset:
    mov dword [db_count], 0
    push eax
    xor eax, eax
    mov dr6, eax
    pop eax
    ret

; db_hook: record the trap offset and DR6, clear DR6.
db_hook:
    mov eax, [db_count]
    cmp eax, 32
    jae .full
    mov ecx, [ebp + F_EIP]
    sub ecx, [db_base]
    mov [db_eips + eax * 4], ecx
    inc dword [db_count]
.full:
    mov eax, dr6
    mov [db_dr6], eax
    xor eax, eax
    mov dr6, eax
    clc
    ret

print_db:
    PDEC [db_count]
    PRINT " traps at"
    xor ebx, ebx
.next:
    cmp ebx, [db_count]
    jae .done
    PRINT " +"
    PDEC [db_eips + ebx * 4]
    inc ebx
    jmp .next
.done:
    PRINT ", DR6="
    PHEX32 [db_dr6]
    PRINTLN
    ret

align 4
db_base:  dd 0
db_count: dd 0
db_dr6:   dd 0
db_eips:  times 32 dd 0
src:      db "abc"
dst:      db "..."
empty:    db 0
GUEST_END
