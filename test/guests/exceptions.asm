; exceptions: vectors 0-19 with their error codes and fault/trap semantics ("at +N" is where
; EIP points: the faulting instruction for faults, the next one for traps), delivery
; problems (gate not present, invalid gate type, beyond the IDT limit) with the EXT bit
; for hardware exceptions, the double fault, and interrupt versus trap gates.
%include "lib/guest.inc"

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

; GATE_ATTR vector, attribute byte: change a gate's P/DPL/type byte.
%macro GATE_ATTR 2
    mov byte [idt + (%1) * 8 + 5], %2
%endmacro

main:
    PRINTLN "exceptions: vectors, error codes, faults and traps"
    CHECK 0, "DIV by zero", {xor ecx, ecx}, {div ecx}
    CHECK 0, "IDIV 80000000h/-1", {mov eax, 0x80000000}, {cdq}, {mov ecx, -1}, {idiv ecx}
    CHECK 0, "INT3", {int3}
    CHECK 0, "INTO, OF=1", {mov al, 0x7F}, {add al, 1}, {into}
    CHECK 0, "INTO, OF=0", {xor eax, eax}, {into}
    CHECK 0, "BOUND out of range", {mov eax, 20}, {bound eax, [bounds]}
    CHECK 0, "BOUND in range", {mov eax, 10}, {bound eax, [bounds]}
    CHECK 0, "UD2", {ud2}
    CHECK 0, "UD0 (0F FF)", {db 0x0F, 0xFF}
    CHECK 0, "LOCK ADD EAX,EBX", {db 0xF0, 0x01, 0xD8}
    CHECK 0, "LOCK ADD [mem],EAX", {lock add [scratch], eax}
    CHECK 0, "15 prefixes + NOP (16 bytes)", {times 15 db 0x66}, {nop}
    CHECK 0, "14 prefixes + NOP (15 bytes)", {times 14 db 0x66}, {nop}

    ; #NM: WAIT with CR0.TS = 1 and CR0.MP = 1.
    mov eax, cr0
    or eax, CR0_TS | CR0_MP
    mov cr0, eax
    CHECK 0, "WAIT, CR0.TS=1 MP=1", {wait}
    clts
    CHECK 0, "WAIT, CR0.TS=0", {wait}
    mov eax, cr0
    and eax, ~CR0_MP
    mov cr0, eax

    ; #AC: CR0.AM = 1, EFLAGS.AC = 1, CPL 3, a misaligned access.
    mov eax, cr0
    or eax, CR0_AM
    mov cr0, eax
    PRINT "CPL3 misaligned read, AM=1 AC=1: "
    TRY3 misaligned, 0x40202
    PRINT "CPL3 misaligned read, AM=1 AC=0: "
    TRY3 misaligned, 0x202
    PRINT "CPL0 misaligned read, AM=1 AC=1: "
    TRY0 misaligned_ac0
    mov eax, cr0
    and eax, ~CR0_AM
    mov cr0, eax

    ; Delivery problems. Software INT n: EXT = 0; hardware exceptions: EXT = 1.
    GATE_ATTR 0x3A, GATE_INT & ~ACC_P
    CHECK 0, "INT 3Ah, gate not present", {int 0x3A}
    GATE_ATTR 0x3A, GATE_INT
    CHECK 0, "INT 45h, empty IDT entry", {int 0x45}
    GATE_ATTR 6, GATE_INT & ~ACC_P
    CHECK 0, "UD2, #UD gate not present", {ud2}
    GATE_ATTR 6, GATE_INT
    GATE_ATTR 5, GATE_INT & ~ACC_P
    CHECK 3, "BOUND out of range, #BR gate not present", {mov eax, 20}, {bound eax, [bounds]}
    GATE_ATTR 5, GATE_INT
    mov word [idtr], 0x40 * 8 - 1
    lidt [idtr]
    CHECK 0, "INT 40h beyond the IDT limit", {int 0x40}
    mov word [idtr], 256 * 8 - 1
    lidt [idtr]

    ; Double faults: a contributory exception while delivering a contributory one.
    GATE_ATTR 0, GATE_INT & ~ACC_P
    CHECK 0, "DIV by zero, #DE gate not present", {xor ecx, ecx}, {div ecx}
    GATE_ATTR 0, GATE_INT
    GATE_ATTR 0x3A, GATE_INT & ~ACC_P
    GATE_ATTR 11, GATE_INT & ~ACC_P
    CHECK 0, "INT 3Ah, gates 3Ah and #NP not present", {int 0x3A}
    GATE_ATTR 11, GATE_INT
    GATE_ATTR 0x3A, GATE_INT
    ; A benign exception (#BP) then a contributory one: handled one after the other.
    GATE_ATTR 3, GATE_INT & ~ACC_P
    CHECK 0, "INT3, gate not present", {int3}
    GATE_ATTR 3, GATE_INT

    ; Interrupt gates clear IF, trap gates keep it.
    mov dword [hooks + 0x3B * 4], record_if
    PRINT "INT 3Bh through an interrupt gate, IF=1 before: IF in handler="
    sti
    int 0x3B
    cli
    PDEC [handler_if]
    PRINTLN
    GATE_ATTR 0x3B, GATE_TRAP
    PRINT "INT 3Bh through a trap gate, IF=1 before: IF in handler="
    sti
    int 0x3B
    cli
    PDEC [handler_if]
    PRINTLN
    ret

misaligned:
    mov eax, [scratch + 1]
    int VEC_DONE
misaligned_ac0:
    pushfd
    or dword [esp], 0x40000
    popfd
    mov eax, [scratch + 1]
    int VEC_DONE

; record_if: EFLAGS.IF inside the handler of INT 3Bh.
record_if:
    pushfd
    pop eax
    shr eax, 9
    and eax, 1
    mov [handler_if], eax
    clc
    ret

align 8
bounds:     dd 0, 15
scratch:    dd 0, 0
handler_if: dd 0
GUEST_END
