; debug-regs: the guest's own breakpoints in DR0-DR3, enabled in DR7.
;   - instruction breakpoints are faults: EIP at the instruction, which has not run; the
;     handler sets EFLAGS.RF so that IRET does not hit it again;
;   - data breakpoints (R/W = 01 write, 11 read or write; LEN 1, 2, 4) are traps: EIP after
;     the access; an access that overlaps the breakpoint's bytes hits it;
;   - DR6.B0-B3 say which breakpoints hit (two at once when both match), DR6.BD a MOV DR
;     with DR7.GD set (a fault, and GD is cleared on entry to the handler).
; Each line: the #DB count, each hit's EIP offset and DR6, and whether the code under test
; finished.
%include "lib/guest.inc"

; DR7 fields: L0..L3 at bits 0, 2, 4, 6; R/W and LEN at bits 16 + 4n and 18 + 4n.
%define DR7_L(n)        (1 << ((n) * 2))
%define DR7_RW(n, rw)   ((rw) << (16 + (n) * 4))
%define DR7_LEN(n, len) ((len) << (18 + (n) * 4))
RW_EXEC  equ 0
RW_WRITE equ 1
RW_RDWR  equ 3
LEN1     equ 0
LEN2     equ 1
LEN4     equ 3
DR7_GD   equ 1 << 13

; CHECK "name", dr7, dr0, dr1, code: arm DR0/DR1, run the code, print the #DBs.
%macro CHECK 5
    PRINT %1, ": "
    mov eax, %3
    mov dr0, eax
    mov eax, %4
    mov dr1, eax
    mov dword [db_base], %5
    mov eax, %2
    mov dr7, eax
    mov eax, %5
    call try_ring0
    xor eax, eax
    mov dr7, eax
    call print_db
%endmacro

main:
    PRINTLN "debug-regs: DR0-DR3 breakpoints and DR6"
    mov dword [hooks + 1 * 4], db_hook

    CHECK "exec DR0 on the 2nd instruction", DR7_L(0), exec_seq.bp, 0, exec_seq
    CHECK "exec DR0 and DR1 on one instruction", DR7_L(0) | DR7_L(1), exec_seq.bp, exec_seq.bp, exec_seq
    CHECK "write DR1 LEN4 on var4, MOV [var4]", DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN4), 0, var4, write_var4
    CHECK "write DR1 LEN4 on var4, read it", DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN4), 0, var4, read_var4
    CHECK "rw DR1 LEN4 on var4, read it", DR7_L(1) | DR7_RW(1, RW_RDWR) | DR7_LEN(1, LEN4), 0, var4, read_var4
    CHECK "rw DR0 LEN2 on var4+2, byte at var4+3", DR7_L(0) | DR7_RW(0, RW_RDWR) | DR7_LEN(0, LEN2), var4 + 2, 0, read_var4_3
    CHECK "rw DR0 LEN2 on var4+2, byte at var4+1", DR7_L(0) | DR7_RW(0, RW_RDWR) | DR7_LEN(0, LEN2), var4 + 2, 0, read_var4_1
    CHECK "rw DR0 LEN1 on var4+1, dword at var4", DR7_L(0) | DR7_RW(0, RW_RDWR) | DR7_LEN(0, LEN1), var4 + 1, 0, read_var4
    CHECK "write DR0+DR1 on var4, one write", DR7_L(0) | DR7_RW(0, RW_WRITE) | DR7_LEN(0, LEN4) | DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN1), var4, var4, write_var4
    CHECK "write DR1 LEN4, PUSH onto it", DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN4), 0, stack_slot, push_onto
    CHECK "rw DR1 LEN4, two accesses", DR7_L(1) | DR7_RW(1, RW_RDWR) | DR7_LEN(1, LEN4), 0, var4, two_accesses
    CHECK "exec DR0 disabled (L0=0)", 0, exec_seq.bp, 0, exec_seq

    ; Breakpoints in ring 3: DR0 on user code, DR1 on a user write.
    PRINT "ring 3: exec DR0 and write DR1: "
    mov eax, user_code.bp
    mov dr0, eax
    mov eax, var4
    mov dr1, eax
    mov dword [db_base], user_code
    mov dword [db_count], 0
    mov eax, DR7_L(0) | DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN4)
    mov dr7, eax
    mov eax, user_code
    mov edx, 0x202
    call try_ring3
    xor eax, eax
    mov dr7, eax
    call print_db

    ; DR7.GD: the next MOV to or from a debug register faults with DR6.BD.
    PRINT "DR7.GD=1, MOV EAX,DR0: "
    mov dword [db_count], 0
    mov dword [db_base], gd_test
    mov eax, gd_test
    call try_ring0
    xor eax, eax
    mov dr7, eax
    call print_db
    ret

exec_seq:
    nop
.bp:
    inc eax
    nop
    int VEC_DONE
write_var4:
    mov dword [var4], 1
    nop
    int VEC_DONE
read_var4:
    mov eax, [var4]
    nop
    int VEC_DONE
read_var4_3:
    mov al, [var4 + 3]
    int VEC_DONE
read_var4_1:
    mov al, [var4 + 1]
    int VEC_DONE
push_onto:
    mov esp, stack_slot + 4
    push eax
    nop
    mov esp, KSTACK_TOP - 64    ; any stack will do: the catch restores it
    int VEC_DONE
two_accesses:
    mov eax, [var4]
    add [var4], eax
    int VEC_DONE
user_code:
    nop
.bp:
    mov dword [var4], 2
    nop
    int VEC_DONE
gd_test:
    mov eax, DR7_GD
    mov dr7, eax
    mov eax, dr0
    int VEC_DONE

; db_hook: record EIP offset and DR6 per #DB; clear DR6; set RF so that an instruction
; breakpoint does not fire again on IRET.
db_hook:
    mov eax, [db_count]
    cmp eax, 8
    jae .full
    mov ecx, [ebp + F_EIP]
    sub ecx, [db_base]
    mov [db_eips + eax * 4], ecx
    mov ecx, dr6
    mov [db_dr6 + eax * 4], ecx
    inc dword [db_count]
.full:
    xor eax, eax
    mov dr6, eax
    or dword [ebp + F_EFLAGS], 1 << 16
    clc
    ret

print_db:
    PDEC [db_count]
    PRINT " #DB"
    xor ebx, ebx
.next:
    cmp ebx, [db_count]
    jae .done
    PRINT " (+"
    PDEC [db_eips + ebx * 4]
    PRINT " DR6="
    PHEX32 [db_dr6 + ebx * 4]
    PRINT ")"
    inc ebx
    jmp .next
.done:
    PRINT ", then "
    call print_outcome
    mov dword [db_count], 0
    ret

align 4
db_base:  dd 0
db_count: dd 0
db_eips:  times 8 dd 0
db_dr6:   times 8 dd 0
align 16
var4:       dd 0
            dd 0
            times 64 dd 0       ; the #DB frame after the PUSH lands below stack_slot
stack_slot: dd 0
GUEST_END
