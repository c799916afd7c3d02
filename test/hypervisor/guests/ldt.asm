; ldt: local descriptor tables, for the monitor's shadow LDT (test/hypervisor/trap-and-emulate.test.ts).
; A multiboot guest on the runtime of test/guests (assemble with -i test/guests/). LLDT and SLDT,
; data, stack and code segments from the LDT at CPL 0 and 3, a call gate in the LDT, the faults of
; LDT selectors and of LLDT itself, a write to the LDT the next segment load sees, and LAR, LSL,
; VERR and VERW of LDT selectors. Every LDT descriptor has its accessed bit preset, so the processor
; writes none of them.
%include "lib/guest.inc"

LDT_SEL   equ 0x40              ; GDT: the LDT
LDT_NP    equ 0x48              ; GDT: an LDT descriptor, not present
L_CODE    equ 0x04              ; LDT 0: ring-0 code, flat
L_DATA    equ 0x0C              ; LDT 1: ring-0 data, base TEST_AREA, limit 0xFFF
L_DATA3   equ 0x14 | 3          ; LDT 2: ring-3 data, base TEST_AREA + 0x1000, limit 0xFFF
L_CODE3   equ 0x1C | 3          ; LDT 3: ring-3 code, flat
L_GATE    equ 0x24 | 3          ; LDT 4: call gate, DPL 3 -> KCODE:gate_target
L_NP      equ 0x2C              ; LDT 5: data, not present
L_BEYOND  equ 0x34              ; LDT 6: beyond the limit
LDT_ENTRIES equ 6

%macro LDESC 5                  ; index, base, limit, access, flags
    mov edi, ldt_table + (%1) * 8
    mov eax, %2
    mov ecx, %3
    mov [edi], cx
    mov [edi + 2], ax
    shr eax, 16
    mov [edi + 4], al
    mov byte [edi + 5], %4
    shr ecx, 16
    and cl, 0x0F
    or cl, %5
    mov [edi + 6], cl
    mov [edi + 7], ah
%endmacro

main:
    PRINTLN "ldt: local descriptor tables"
    LDESC 0, 0, 0xFFFFF, ACC_P | ACC_S | T_CODE_XR | ACC_A, FL_G | FL_DB
    LDESC 1, TEST_AREA, 0xFFF, ACC_P | ACC_S | T_DATA_RW | ACC_A, FL_DB
    LDESC 2, TEST_AREA + 0x1000, 0xFFF, ACC_P | ACC_DPL3 | ACC_S | T_DATA_RW | ACC_A, FL_DB
    LDESC 3, 0, 0xFFFFF, ACC_P | ACC_DPL3 | ACC_S | T_CODE_XR | ACC_A, FL_G | FL_DB
    mov eax, gate_target        ; LDT 4: a 32-bit call gate, DPL 3, to ring 0
    mov [ldt_table + 4 * 8], ax
    mov word [ldt_table + 4 * 8 + 2], KCODE
    mov byte [ldt_table + 4 * 8 + 4], 0
    mov byte [ldt_table + 4 * 8 + 5], ACC_P | ACC_DPL3 | T_CALLGATE32
    shr eax, 16
    mov [ldt_table + 4 * 8 + 6], ax
    LDESC 5, 0, 0xFFFFF, ACC_S | T_DATA_RW | ACC_A, FL_G | FL_DB
    DESC LDT_SEL, ldt_table, LDT_ENTRIES * 8 - 1, ACC_P | T_LDT, 0
    DESC LDT_NP, ldt_table, LDT_ENTRIES * 8 - 1, T_LDT, 0
    mov dword [TEST_AREA], 0x11111111
    mov dword [TEST_AREA + 0x1000], 0x33333333

    mov ax, LDT_SEL
    lldt ax
    PRINT "SLDT after LLDT 40h: "
    sldt ax
    PHEX16 eax
    PRINTLN

    ; Data through the LDT at CPL 0: a read, a write that lands at the segment's base.
    mov ax, L_DATA
    mov es, ax
    PRINT "ES=000C: [ES:0]="
    PHEX32 [es:0]
    mov dword [es:8], 0x22222222
    PRINT ", wrote [ES:8], linear TEST_AREA+8 = "
    PHEX32 [TEST_AREA + 8]
    PRINTLN
    mov ax, KDATA
    mov es, ax

    ; A far jump to code in the LDT and back.
    jmp L_CODE:.in_ldt
.in_ldt:
    mov ax, cs
    and ax, 0xFFFC              ; (the RPL is a ring-compression hole; the TI bit is the point)
    mov [cs_seen], ax
    jmp KCODE:.back
.back:
    PRINT "JMP 0004:x ran with CS="
    PHEX16 [cs_seen]
    PRINTLN

    PRINT "CPL3 MOV DS,0017 (LDT, DPL 3), read [DS:0]: "
    TRY3 ring3_data
    PRINT "  EBX="
    PHEX32 [trap_frame + F_EBX]
    PRINTLN
    PRINT "CPL3 JMP 001F:x (LDT code, DPL 3): "
    TRY3 ring3_code
    PRINT "  CS="
    PHEX16 [trap_frame + F_CS]
    PRINTLN
    PRINT "CPL3 CALL 0027:0 (LDT call gate to ring 0): "
    TRY3 ring3_gate
    PRINT "  handler CS="
    mov eax, [trap_frame + F_CS]
    and eax, 0xFFFC
    PHEX16 eax
    PRINT " param EBX="
    PHEX32 [trap_frame + F_EBX]
    PRINTLN
    PRINT "CPL3 MOV DS,000C (LDT, DPL 0): "
    TRY3 ring3_kdata
    PRINT "CPL0 MOV DS,002C (not present): "
    TRY0 load_np
    PRINT "CPL0 MOV DS,0034 (beyond the LDT limit): "
    TRY0 load_beyond

    ; What LAR, LSL, VERR and VERW report for LDT selectors at CPL 0.
    mov ebx, query_selectors
.query:
    movzx ecx, word [ebx]
    test ecx, ecx
    jz .query_done
    PRINT "sel "
    PHEX16 ecx
    PRINT ": LAR "
    mov eax, 0
    lar eax, cx
    call print_zf_eax
    PRINT " LSL "
    mov eax, 0
    lsl eax, cx
    call print_zf_eax
    PRINT " VERR "
    verr cx
    call print_zf
    PRINT " VERW "
    verw cx
    call print_zf
    PRINTLN
    add ebx, 2
    jmp .query
.query_done:

    ; The guest edits its LDT: the next load of the selector sees the new base.
    mov word [ldt_table + 1 * 8 + 2], (TEST_AREA + 0x1000) & 0xFFFF
    mov byte [ldt_table + 1 * 8 + 4], (TEST_AREA + 0x1000) >> 16
    mov ax, L_DATA
    mov es, ax
    PRINT "after the LDT write, [ES:0]="
    PHEX32 [es:0]
    PRINTLN
    mov ax, KDATA
    mov es, ax

    PRINT "LLDT 0010h (a data segment): "
    TRY0 lldt_data
    PRINT "LLDT 0048h (not present): "
    TRY0 lldt_np
    PRINT "LLDT 0044h (TI=1): "
    TRY0 lldt_ti
    PRINT "CPL3 LLDT: "
    TRY3 lldt_user
    xor ax, ax
    lldt ax
    PRINT "after LLDT 0, MOV DS,000C: "
    TRY0 load_ldata
    ret

ring3_data:
    mov ax, L_DATA3
    mov ds, ax
    mov ebx, [0]
    int VEC_DONE
ring3_code:
    jmp L_CODE3:.here
.here:
    int VEC_DONE
ring3_gate:
    mov ebx, 0x5A5A5A5A
    call L_GATE:0
    int VEC_DONE
gate_target:
    int VEC_DONE                ; caught at ring 0: the frame holds the handler's CS
ring3_kdata:
    mov ax, L_DATA
    mov ds, ax
    int VEC_DONE
load_np:
    mov ax, L_NP
    mov ds, ax
    ret
load_beyond:
    mov ax, L_BEYOND
    mov ds, ax
    ret
load_ldata:
    mov ax, L_DATA
    mov ds, ax
    ret
lldt_data:
    mov ax, KDATA
    lldt ax
    ret
lldt_np:
    mov ax, LDT_NP
    lldt ax
    ret
lldt_ti:
    mov ax, 0x44
    lldt ax
    ret
lldt_user:
    mov ax, LDT_SEL
    lldt ax
    int VEC_DONE

; print_zf_eax: "EAX" when ZF is set, "-" otherwise.
print_zf_eax:
    jnz .no
    PHEX32 eax
    ret
.no:
    PRINT "-"
    ret
print_zf:
    jnz .no
    PRINT "1"
    ret
.no:
    PRINT "0"
    ret

align 2
cs_seen: dw 0
query_selectors: dw L_CODE, L_DATA, L_DATA3, L_CODE3, L_GATE, L_NP, 0
align 8
ldt_table: times LDT_ENTRIES dq 0
GUEST_END
