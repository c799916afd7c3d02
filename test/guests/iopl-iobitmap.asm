; iopl-iobitmap: who may use IN/OUT, CLI/STI and POPF outside ring 0.
;   - CPL <= IOPL: every port, CLI and STI are allowed;
;   - CPL > IOPL: CLI/STI fault, and each port byte of an access must be allowed in the TSS's
;     I/O permission bitmap (a clear bit); ports past the TSS limit are denied;
;   - POPF at CPL > 0 never changes IOPL, and changes IF only when CPL <= IOPL (no fault).
; The main TSS (lib/desc.inc) has a bitmap for ports 0..0x3FF, all denied at first.
%include "lib/guest.inc"

IOPL0 equ 0x0202
IOPL1 equ 0x1202
IOPL3 equ 0x3202

; CHECK ring, eflags, "name", {instruction}, ...: up to three instructions, each in braces
; when it has operands.
%macro CHECK 4-6
    PRINT "CPL", %1 + '0', " IOPL", ((%2 >> 12) & 3) + '0', " ", %3, ": "
    jmp %%run
%%code:
    %4
  %if %0 >= 5
    %5
  %endif
  %if %0 >= 6
    %6
  %endif
    int VEC_DONE
%%run:
  %if %1 == 3
    TRY3 %%code, %2
  %else
    TRY1 %%code, %2
  %endif
%endmacro

main:
    PRINTLN "iopl-iobitmap: IOPL, the TSS I/O permission bitmap and POPF"

    ; IOPL 3: the bitmap is not consulted.
    CHECK 3, IOPL3, "OUT 80h,AL", {out 0x80, al}
    CHECK 3, IOPL3, "IN AL,DX (3F9h)", {mov dx, 0x3F9}, {in al, dx}
    CHECK 3, IOPL3, "CLI", cli
    CHECK 3, IOPL3, "STI", sti
    PRINT "CPL3 IOPL3 prints itself: "
    TRY3 user_print, IOPL3

    ; IOPL 0, nothing allowed in the bitmap.
    CHECK 3, IOPL0, "OUT 80h,AL", {out 0x80, al}
    CHECK 3, IOPL0, "CLI", cli

    ; Allow the COM1 data port, LSR and scratch register; the bitmap lets ring 3 print.
    mov eax, COM1
    call iomap_allow
    mov eax, COM1 + 5
    call iomap_allow
    mov eax, COM1 + 7
    call iomap_allow
    mov eax, 0x80
    call iomap_allow
    PRINTLN "bitmap now allows 80h, 3F8h, 3FDh, 3FFh"
    PRINT "CPL3 IOPL0 prints through the bitmap: "
    TRY3 user_print, IOPL0
    CHECK 3, IOPL0, "OUT 80h,AL", {out 0x80, al}
    CHECK 3, IOPL0, "IN AL,80h", {in al, 0x80}
    CHECK 3, IOPL0, "OUT 3F9h (denied)", {mov dx, 0x3F9}, {out dx, al}
    CHECK 3, IOPL0, "IN AX,3FEh (3FEh denied)", {mov dx, 0x3FE}, {in ax, dx}
    CHECK 3, IOPL0, "IN AX,3FFh (400h denied)", {mov dx, 0x3FF}, {in ax, dx}
    CHECK 3, IOPL0, "OUT 1000h (past the TSS limit)", {mov dx, 0x1000}, {out dx, al}
    CHECK 3, IOPL0, "OUTSB 3FFh", {mov dx, 0x3FF}, {mov esi, scratch_byte}, {outsb}
    CHECK 3, IOPL0, "CLI (bitmap does not matter)", cli

    PRINT "CPL3 IOPL0 OUT/IN scratch register 3FFh: "
    TRY3 scratch_roundtrip, IOPL0
    PRINT "  wrote A5, read back "
    PHEX8 [trap_frame + F_EAX]
    PRINTLN

    ; Ring 1: IOPL 1 allows everything, IOPL 0 falls back to the bitmap.
    CHECK 1, IOPL1, "OUT 3F9h", {mov dx, 0x3F9}, {xor al, al}, {out dx, al}
    CHECK 1, IOPL1, "CLI", cli
    CHECK 1, IOPL0, "OUT 80h,AL (allowed)", {out 0x80, al}
    CHECK 1, IOPL0, "OUT 3F9h (denied)", {mov dx, 0x3F9}, {out dx, al}

    ; POPF at CPL 3.
    PRINT "CPL3 IOPL0 POPF 3002h: "
    TRY3 popf_test, IOPL0
    call print_popf
    PRINT "CPL3 IOPL3 POPF 0002h: "
    TRY3 popf_test_2, IOPL3
    call print_popf
    ret

; print_popf: the EFLAGS bits IOPL and IF before (EAX) and after (EBX) the POPF.
print_popf:
    PRINT "  IOPL and IF before "
    mov eax, [trap_frame + F_EAX]
    and eax, 0x3200
    call print_hex16
    PRINT " after "
    mov eax, [trap_frame + F_EBX]
    and eax, 0x3200
    call print_hex16
    PRINTLN
    ret

popf_test:                      ; try to set IOPL 3 and clear IF
    pushfd
    pop eax
    push dword 0x3002
    popfd
    pushfd
    pop ebx
    int VEC_DONE

popf_test_2:                    ; IOPL 3: IF may change, IOPL may not
    pushfd
    pop eax
    push dword 0x0002
    popfd
    pushfd
    pop ebx
    int VEC_DONE

scratch_roundtrip:
    mov dx, COM1 + 7
    mov al, 0xA5
    out dx, al
    xor eax, eax
    in al, dx
    int VEC_DONE

; user_print: ring-3 code that drives COM1 itself, then "ok" comes from print_outcome.
user_print:
    mov esi, .text
.next:
    mov bl, [esi]
    inc esi
    test bl, bl
    jz .done
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, bl
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    int VEC_DONE
.text: db "hello from ring 3 ", 0

scratch_byte: db '.'
GUEST_END
