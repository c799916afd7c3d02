; call-gates: far CALL and JMP through 32-bit call gates. From ring 3 to ring 0 the
; processor takes the new stack from TSS.SS0:ESP0, copies the gate's parameter count of
; dwords from the old stack, and pushes the old SS:ESP and CS:EIP; RETF n returns, pops the
; parameters on both stacks and nulls data segment registers the outer ring may not use.
; Also: a gate to ring 1 (TSS.SS1:ESP1), a gate to conforming code (no ring change), and the
; gate's DPL, present bit, target present bit and the JMP rule, with their error codes.
%include "lib/guest.inc"

GATE3     equ 0x40              ; DPL 3, 3 parameters -> ring 0 handler
GATE0     equ 0x48              ; DPL 0 -> ring 0 handler
GATE_NP   equ 0x50              ; not present
GATE_CONF equ 0x58              ; DPL 3 -> conforming ring-0 code
GATE_CSNP equ 0x60              ; DPL 3 -> a not-present code segment
GATE_R1   equ 0x68              ; DPL 3, 1 parameter -> ring 1 handler
SEL_CONF  equ 0x70              ; conforming code execute/read, DPL 0
SEL_CODE_NP equ 0x78            ; code, not present
ESP1_TOP  equ 0x250000          ; TSS.ESP1

; CALLGATE selector, target selector, target offset, attribute byte, parameter count
%macro CALLGATE 5
    mov eax, %3
    mov word [gdt + %1], ax
    mov word [gdt + %1 + 2], %2
    mov byte [gdt + %1 + 4], %5
    mov byte [gdt + %1 + 5], %4
    shr eax, 16
    mov word [gdt + %1 + 6], ax
%endmacro

main:
    PRINTLN "call-gates: far CALL/JMP through call gates, stack switch and parameter copy"
    DESC SEL_CONF,    0, 0xFFFFF, ACC_P | ACC_S | T_CODE_XR_CONF | ACC_A, FL_G | FL_DB
    DESC SEL_CODE_NP, 0, 0xFFFFF, ACC_S | T_CODE_XR | ACC_A, FL_G | FL_DB
    CALLGATE GATE3,     KCODE,       to_ring0,   ACC_P | ACC_DPL3 | T_CALLGATE32, 3
    CALLGATE GATE0,     KCODE,       to_ring0,   ACC_P | ACC_DPL0 | T_CALLGATE32, 3
    CALLGATE GATE_NP,   KCODE,       to_ring0,   ACC_DPL3 | T_CALLGATE32, 3
    CALLGATE GATE_CONF, SEL_CONF,    to_conforming, ACC_P | ACC_DPL3 | T_CALLGATE32, 0
    CALLGATE GATE_CSNP, SEL_CODE_NP, to_ring0,   ACC_P | ACC_DPL3 | T_CALLGATE32, 3
    CALLGATE GATE_R1,   R1CODE,      to_ring1,   ACC_P | ACC_DPL3 | T_CALLGATE32, 1
    mov dword [tss + tss32.esp1], ESP1_TOP
    mov dword [tss + tss32.ss1], R1DATA

    PRINT "CALL gate DPL 3 -> ring 0, 3 params, from CPL 3: "
    TRY3 call_gate3
    PRINT "  in ring 0: CS="
    PHEX16 [rec_cs]
    PRINT " SS="
    PHEX16 [rec_ss]
    PRINT " ESP=ESP0-"
    mov eax, ESP0_TOP
    sub eax, [rec_esp]
    call print_dec
    PRINTLN
    call print_frame
    PRINT "  back in ring 3: ESP=USTACK_TOP-"
    mov eax, USTACK_TOP
    sub eax, [trap_frame + F_ESP]
    call print_dec
    PRINT " DS="
    PHEX16 [trap_frame + F_EBX]
    PRINT " ES="
    PHEX16 [trap_frame + F_ECX]
    PRINTLN

    PRINT "CALL gate DPL 3 -> ring 1, 1 param, from CPL 3: "
    TRY3 call_gate_r1
    PRINT "  in ring 1: CS="
    PHEX16 [rec_cs]
    PRINT " SS="
    PHEX16 [rec_ss]
    PRINT " ESP=ESP1-"
    mov eax, ESP1_TOP
    sub eax, [rec_esp]
    call print_dec
    PRINT " param "
    PHEX32 [rec_stack + 8]
    PRINT " old SS:ESP "
    PHEX16 [rec_stack + 16]
    PRINT ":USTACK_TOP-"
    mov eax, USTACK_TOP
    sub eax, [rec_stack + 12]
    call print_dec
    PRINTLN

    PRINT "CALL gate -> conforming ring-0 code, from CPL 3: "
    TRY3 call_gate_conf
    PRINT "  in conforming code: CS="
    PHEX16 [rec_cs]
    PRINT " SS="
    PHEX16 [rec_ss]
    PRINT " ESP=USTACK_TOP-"
    mov eax, USTACK_TOP
    sub eax, [rec_esp]
    call print_dec
    PRINTLN

    PRINT "CALL gate DPL 0 from CPL 3: "
    TRY3 call_gate0
    PRINT "CALL gate not present: "
    TRY3 call_gate_np
    PRINT "CALL gate to a not-present code segment: "
    TRY3 call_gate_csnp
    PRINT "JMP gate to ring 0 from CPL 3: "
    TRY3 jmp_gate3
    PRINT "JMP gate DPL 3 -> ring 0 from CPL 0: "
    TRY0 jmp_gate3_ring0
    mov dword [tss + tss32.ss1], KDATA      ; RPL/DPL 0 is no ring-1 stack
    PRINT "CALL gate -> ring 1 with TSS.SS1=0010: "
    TRY3 call_gate_r1
    mov dword [tss + tss32.ss1], R1DATA
    ret

; print_frame: what the gate call left on the ring-0 stack.
print_frame:
    PRINT "  ring-0 stack: EIP=+"
    mov eax, [rec_stack]
    sub eax, call_gate3
    call print_dec
    PRINT " CS="
    PHEX16 [rec_stack + 4]
    PRINT " params "
    PHEX32 [rec_stack + 8]
    PRINT " "
    PHEX32 [rec_stack + 12]
    PRINT " "
    PHEX32 [rec_stack + 16]
    PRINT " SS:ESP="
    PHEX16 [rec_stack + 24]
    PRINT ":USTACK_TOP-"
    mov eax, USTACK_TOP
    sub eax, [rec_stack + 20]
    call print_dec
    PRINTLN
    ret

; Ring-3 callers. After the return, EBX = DS and ECX = ES as ring 3 sees them.
call_gate3:
    push dword 0x33333333       ; pushed first: the highest address, copied in order
    push dword 0x22222222
    push dword 0x11111111
    call GATE3:0                ; the offset is ignored with a gate
    mov bx, ds
    movzx ebx, bx
    mov cx, es
    movzx ecx, cx
    int VEC_DONE
call_gate_r1:
    push dword 0x44444444
    call GATE_R1:0
    int VEC_DONE
call_gate_conf:
    call GATE_CONF:0
    int VEC_DONE
call_gate0:
    call GATE0:0
    int VEC_DONE
call_gate_np:
    call GATE_NP:0
    int VEC_DONE
call_gate_csnp:
    call GATE_CSNP:0
    int VEC_DONE
jmp_gate3:
    jmp GATE3:0
jmp_gate3_ring0:                ; a JMP through a gate to the same ring works
    jmp GATE_CONF:0

; to_ring0: keep CS, SS, ESP and the 7 dwords above ESP, load DS with ring-0 data (RETF to
; ring 3 must null it), return popping the 3 parameters.
to_ring0:
    mov ax, KDATA
    mov ds, ax
    call record
    retf 12

to_ring1:
    mov ax, R1DATA
    mov ds, ax
    call record
    retf 4

to_conforming:                  ; runs at CPL 3 (conforming): DS is still ring 3's
    call record
    cmp dword [trap_base], jmp_gate3_ring0
    je .jumped
    retf
.jumped:
    int VEC_DONE

; record: CS, SS, the caller's ESP and the stack above it (flat DS or SS-relative).
record:
    push eax
    push ecx
    push esi
    mov ax, cs
    movzx eax, ax
    mov [rec_cs], eax
    mov ax, ss
    movzx eax, ax
    mov [rec_ss], eax
    lea eax, [esp + 16]         ; ESP at the gate's target (3 pushes + return address)
    mov [rec_esp], eax
    xor ecx, ecx
.copy:
    mov eax, [ss:esp + 16 + ecx * 4]
    mov [rec_stack + ecx * 4], eax
    inc ecx
    cmp ecx, 7
    jb .copy
    pop esi
    pop ecx
    pop eax
    ret

align 4
rec_cs:    dd 0
rec_ss:    dd 0
rec_esp:   dd 0
rec_stack: times 7 dd 0
GUEST_END
