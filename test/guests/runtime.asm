; runtime: the guest-test runtime itself (lib/*.inc), the first guest to pass: COM1 output,
; hex and decimal numbers, the exit port, and catching events at CPL 0 and CPL 3. If this
; one fails, every other guest fails for the same reason.
%include "lib/guest.inc"

main:
    PRINTLN "runtime: COM1 output from a multiboot kernel at 1 MiB"
    PRINT "hex32 "
    PHEX32 0x12AB09EF
    PRINT " hex16 "
    PHEX16 0xBEEF
    PRINT " hex8 "
    PHEX8 0x7C
    PRINT " dec "
    PDEC 4294967295
    PRINT " "
    PDEC 0
    PRINTLN
    PRINT "CPL0 code that returns: "
    TRY0 returns
    PRINT "CPL0 code ending with INT 30h: "
    TRY0 done0
    PRINT "CPL3 code ending with INT 30h: "
    TRY3 done3
    PRINT "CPL3 HLT: "
    TRY3 hlt3
    mov eax, selectors
    mov edx, 0x202
    call try_ring3
    PRINT "CPL3 code sees CS="
    PHEX16 [trap_frame + F_EAX]
    PRINT " SS="
    PHEX16 [trap_frame + F_EBX]
    PRINT " CPL in the frame="
    mov eax, [trap_frame + F_CS]
    and eax, 3
    call print_dec
    PRINTLN
    PRINT "INT 31h prints a string: "
    TRY3 puts3
    ret

returns:
    ret
done0:
    int VEC_DONE
done3:
    nop
    int VEC_DONE
hlt3:
    nop
    hlt
selectors:
    mov ax, cs
    mov bx, ss
    int VEC_DONE
puts3:
    mov esi, from_ring3
    int VEC_PUTS
    int VEC_DONE

from_ring3: db "(from ring 3) ", 0
GUEST_END
