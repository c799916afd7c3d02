; seg-faults: segment register loads (null, beyond the GDT limit, TI=1 without an LDT,
; wrong type, wrong privilege, not present) and segment limit, expand-down and read-only
; checks, with their #GP, #SS and #NP error codes; and what LAR, LSL, VERR and VERW report.
; QEMU TCG skips the limit, expand-down, read-only and null-selector checks on data accesses
; (see seg-faults.deviations.md): those lines come from the Intel SDM.
%include "lib/guest.inc"

SEL_DATA_LIM  equ 0x40          ; data RW, base 0x300000, limit 0xFFF
SEL_DOWN      equ 0x48          ; data RW expand-down, base 0x300000, limit 0xFFF, B=1
SEL_CODE_XO   equ 0x50          ; code execute-only
SEL_CODE_XR   equ 0x58          ; code execute/read
SEL_DATA_RO   equ 0x60          ; data read-only
SEL_DATA_NP   equ 0x68          ; data RW, not present
SEL_DATA_DPL3 equ 0x70          ; data RW, DPL 3
SEL_CODE_NP   equ 0x78          ; code, not present
SEL_CONF      equ 0x80          ; conforming code execute/read, DPL 0
SEL_STACK3    equ 0x88          ; data RW, DPL 3, base 0x310000, limit 0xFFF
SEL_CODE_LIM  equ 0x90          ; code execute/read, base 0, limit 0x1FFFFF (G=1)
SEL_A_DATA    equ 0x98          ; data RW, accessed bit clear
SEL_A_CODE    equ 0xA0          ; code execute/read, accessed bit clear
SEL_BEYOND    equ GDT_ENTRIES * 8
SEL_LDT_NONE  equ 0x0C          ; TI=1, index 1: there is no LDT

%macro CHECK 3-6                ; ring, "name", instruction...
    PRINT "CPL", %1 + '0', " ", %2, ": "
    jmp %%run
%%code:
    %3
  %if %0 >= 4
    %4
  %endif
  %if %0 >= 5
    %5
  %endif
  %if %0 >= 6
    %6
  %endif
    int VEC_DONE
%%run:
  %if %1 == 3
    TRY3 %%code
  %else
    TRY0 %%code
  %endif
%endmacro

main:
    PRINTLN "seg-faults: segment loads, limits and types"
    DESC SEL_DATA_LIM,  0x300000, 0xFFF,   ACC_P | ACC_S | T_DATA_RW | ACC_A, FL_DB
    DESC SEL_DOWN,      0x300000, 0xFFF,   ACC_P | ACC_S | T_DATA_RW_DOWN | ACC_A, FL_DB
    DESC SEL_CODE_XO,   0,        0xFFFFF, ACC_P | ACC_S | T_CODE_XO | ACC_A, FL_G | FL_DB
    DESC SEL_CODE_XR,   0,        0xFFFFF, ACC_P | ACC_S | T_CODE_XR | ACC_A, FL_G | FL_DB
    DESC SEL_DATA_RO,   0,        0xFFFFF, ACC_P | ACC_S | T_DATA_RO | ACC_A, FL_G | FL_DB
    DESC SEL_DATA_NP,   0,        0xFFFFF, ACC_S | T_DATA_RW | ACC_A, FL_G | FL_DB
    DESC SEL_DATA_DPL3, 0,        0xFFFFF, ACC_P | ACC_DPL3 | ACC_S | T_DATA_RW | ACC_A, FL_G | FL_DB
    DESC SEL_CODE_NP,   0,        0xFFFFF, ACC_S | T_CODE_XR | ACC_A, FL_G | FL_DB
    DESC SEL_CONF,      0,        0xFFFFF, ACC_P | ACC_S | T_CODE_XR_CONF | ACC_A, FL_G | FL_DB
    DESC SEL_STACK3,    0x310000, 0xFFF,   ACC_P | ACC_DPL3 | ACC_S | T_DATA_RW | ACC_A, FL_DB
    DESC SEL_CODE_LIM,  0,        0x1FF,   ACC_P | ACC_S | T_CODE_XR | ACC_A, FL_G | FL_DB

    ; Loading data segment registers.
    CHECK 0, "MOV DS,null", {mov ax, 0}, {mov ds, ax}
    CHECK 0, "MOV DS,beyond GDT limit", {mov ax, SEL_BEYOND}, {mov ds, ax}
    CHECK 0, "MOV DS,TI=1 without LDT", {mov ax, SEL_LDT_NONE}, {mov ds, ax}
    CHECK 0, "MOV DS,TSS", {mov ax, TSS_SEL}, {mov ds, ax}
    CHECK 0, "MOV DS,execute-only code", {mov ax, SEL_CODE_XO}, {mov ds, ax}
    CHECK 0, "MOV DS,readable code", {mov ax, SEL_CODE_XR}, {mov ds, ax}
    CHECK 0, "MOV ES,not present", {mov ax, SEL_DATA_NP}, {mov es, ax}
    CHECK 0, "MOV FS,not present", {mov ax, SEL_DATA_NP}, {mov fs, ax}
    CHECK 0, "MOV GS,DPL 3 data", {mov ax, SEL_DATA_DPL3}, {mov gs, ax}
    CHECK 3, "MOV DS,DPL 0 data", {mov ax, KDATA}, {mov ds, ax}
    CHECK 3, "MOV DS,DPL 0 data RPL 3", {mov ax, KDATA | 3}, {mov ds, ax}
    CHECK 3, "MOV DS,DPL 3 data", {mov ax, SEL_DATA_DPL3 | 3}, {mov ds, ax}
    CHECK 3, "MOV DS,conforming code DPL 0", {mov ax, SEL_CONF | 3}, {mov ds, ax}
    CHECK 3, "MOV DS,readable code DPL 0", {mov ax, SEL_CODE_XR | 3}, {mov ds, ax}

    ; Loading SS.
    CHECK 0, "MOV SS,null", {mov ax, 0}, {mov ss, ax}
    CHECK 0, "MOV SS,read-only data", {mov ax, SEL_DATA_RO}, {mov ss, ax}
    CHECK 0, "MOV SS,readable code", {mov ax, SEL_CODE_XR}, {mov ss, ax}
    CHECK 0, "MOV SS,DPL 3 data", {mov ax, SEL_DATA_DPL3}, {mov ss, ax}
    CHECK 0, "MOV SS,RPL 3", {mov ax, KDATA | 3}, {mov ss, ax}
    CHECK 0, "MOV SS,not present", {mov ax, SEL_DATA_NP}, {mov ss, ax}
    CHECK 3, "MOV SS,DPL 0 data", {mov ax, KDATA}, {mov ss, ax}
    CHECK 0, "MOV SS,beyond GDT limit", {mov ax, SEL_BEYOND}, {mov ss, ax}

    ; CS through far jumps and calls.
    CHECK 0, "JMP FAR data segment", {jmp SEL_DATA_RO:0}
    CHECK 0, "JMP FAR not present code", {jmp SEL_CODE_NP:0}
    CHECK 0, "JMP FAR null", {jmp 0:0}
    CHECK 0, "CALL FAR beyond GDT limit", {call SEL_BEYOND:0}
    CHECK 0, "JMP FAR past the CS limit", {jmp SEL_CODE_LIM:0x200000}
    CHECK 0, "JMP FAR within the CS limit", {jmp SEL_CODE_LIM:jump_target}

    ; Accesses through data segments.
    CHECK 0, "read DS:0FFFh byte, limit FFFh", {mov ax, SEL_DATA_LIM}, {mov ds, ax}, {mov al, [0xFFF]}
    CHECK 0, "read DS:0FFEh dword, limit FFFh", {mov ax, SEL_DATA_LIM}, {mov ds, ax}, {mov eax, [0xFFE]}
    CHECK 0, "write ES:1000h, limit FFFh", {mov ax, SEL_DATA_LIM}, {mov es, ax}, {mov [es:0x1000], al}
    CHECK 0, "read expand-down DS:0800h", {mov ax, SEL_DOWN}, {mov ds, ax}, {mov al, [0x800]}
    CHECK 0, "read expand-down DS:1000h", {mov ax, SEL_DOWN}, {mov ds, ax}, {mov al, [0x1000]}
    CHECK 0, "write read-only data", {mov ax, SEL_DATA_RO}, {mov ds, ax}, {mov [0x300000], al}
    CHECK 0, "write through readable code", {mov ax, SEL_CODE_XR}, {mov ds, ax}, {mov [0x300000], al}
    CHECK 0, "read through readable code", {mov ax, SEL_CODE_XR}, {mov ds, ax}, {mov al, [0x300000]}
    CHECK 0, "read through null DS", {mov ax, 0}, {mov ds, ax}, {mov al, [0x300000]}
    CHECK 0, "write through null ES", {mov ax, 0}, {mov es, ax}, {mov [es:0x300000], al}
    PRINT "CPL0 read through execute-only CS: "
    TRY0 read_through_cs
    CHECK 3, "PUSH, SS limit FFFh, ESP=800h", {mov ax, SEL_STACK3 | 3}, {mov ss, ax}, {mov esp, 0x800}, {push eax}
    CHECK 3, "PUSH, SS limit FFFh, ESP=2", {mov ax, SEL_STACK3 | 3}, {mov ss, ax}, {mov esp, 2}, {push eax}
    CHECK 3, "read SS:1000h, limit FFFh", {mov ax, SEL_STACK3 | 3}, {mov ss, ax}, {mov al, [ss:0x1000]}

    ; Loading a selector sets its descriptor's accessed bit.
    DESC SEL_A_DATA, 0, 0xFFFFF, ACC_P | ACC_S | T_DATA_RW, FL_G | FL_DB
    DESC SEL_A_CODE, 0, 0xFFFFF, ACC_P | ACC_S | T_CODE_XR, FL_G | FL_DB
    mov ax, SEL_A_DATA
    mov es, ax
    mov ax, KDATA
    mov es, ax
    PRINT "accessed bit after MOV ES: "
    movzx eax, byte [gdt + SEL_A_DATA + 5]
    and eax, ACC_A
    call print_dec
    PRINTLN
    jmp SEL_A_CODE:.in_a_code
.in_a_code:
    jmp KCODE:.back_in_kcode
.back_in_kcode:
    PRINT "accessed bit after JMP FAR: "
    movzx eax, byte [gdt + SEL_A_CODE + 5]
    and eax, ACC_A
    call print_dec
    PRINTLN

    ; LAR, LSL, VERR, VERW: ZF tells whether the selector passed.
    PRINTLN "LAR/LSL/VERR/VERW at CPL 0 (ZF=1: passed):"
    mov ebx, lar_selectors
.lar_next:
    movzx ecx, word [ebx]
    cmp ecx, 0xFFFF
    je .lar_done
    PRINT "  "
    PHEX16 ecx
    PRINT " LAR "
    mov eax, 0xFFFFFFFF
    lar eax, cx
    call print_zf
    PRINT " "
    and eax, 0x00F0FF00         ; bits 19:16 are undefined
    call print_hex32
    PRINT " LSL "
    mov eax, 0xFFFFFFFF
    lsl eax, cx
    call print_zf
    PRINT " "
    call print_hex32
    PRINT " VERR "
    verr cx
    call print_zf
    PRINT " VERW "
    verw cx
    call print_zf
    PRINTLN
    add ebx, 2
    jmp .lar_next
.lar_done:
    ret

; print_zf: "ZF=1 " or "ZF=0 " for the flags as they are (flags kept).
print_zf:
    pushfd
    jz .one
    PRINT "ZF=0"
    popfd
    ret
.one:
    PRINT "ZF=1"
    popfd
    ret

; Reads through CS after switching to the execute-only code segment (same base).
read_through_cs:
    jmp SEL_CODE_XO:.in_xo      ; 7 bytes
.in_xo:
    mov al, [cs:0x300000]
    int VEC_DONE

; The far jump within the limit lands here (offset < 2 MiB, base 0: the same code).
jump_target:
    int VEC_DONE

lar_selectors:
    dw 0, KCODE, KDATA, UCODE, TSS_SEL, SEL_DATA_LIM, SEL_DOWN, SEL_CODE_XO, SEL_DATA_RO
    dw SEL_DATA_NP, SEL_CONF, SEL_CODE_LIM, SEL_BEYOND, 0xFFFF
GUEST_END
