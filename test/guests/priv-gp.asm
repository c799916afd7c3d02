; priv-gp: every privileged instruction raises #GP(0) outside ring 0, and the sensitive but
; unprivileged ones (SGDT, SMSW, PUSHF, ...) run without a fault, which is why a monitor
; that runs its guest kernel in an outer ring cannot catch them.
;
; Each line: the ring, the instruction, then what happened (see print_outcome in
; lib/trap.inc): "#GP(0000) at +0" is a fault with error code 0 on the snippet's first byte.
%include "lib/guest.inc"

; CHECK ring, "name", instruction: run one instruction in ring 3 (or 1) and print the outcome.
%macro CHECK 3+
    PRINT "CPL", %1 + '0', " ", %2, ": "
    jmp %%run
%%code:
    %3
    int VEC_DONE
%%run:
  %if %1 == 3
    TRY3 %%code
  %else
    TRY1 %%code
  %endif
%endmacro

main:
    PRINTLN "priv-gp: privileged instructions at CPL 3 and CPL 1 (IOPL 0)"
    CHECK 3, "LGDT", lgdt [gdtr]
    CHECK 3, "LIDT", lidt [idtr]
    CHECK 3, "LLDT", lldt [zero_word]
    CHECK 3, "LTR", ltr [tss_selector]
    CHECK 3, "LMSW", lmsw [zero_word]
    CHECK 3, "CLTS", clts
    CHECK 3, "MOV EAX,CR0", mov eax, cr0
    CHECK 3, "MOV CR0,EAX", mov cr0, eax
    CHECK 3, "MOV EAX,CR2", mov eax, cr2
    CHECK 3, "MOV CR2,EAX", mov cr2, eax
    CHECK 3, "MOV EAX,CR3", mov eax, cr3
    CHECK 3, "MOV CR3,EAX", mov cr3, eax
    CHECK 3, "MOV EAX,CR4", mov eax, cr4
    CHECK 3, "MOV CR4,EAX", mov cr4, eax
    CHECK 3, "MOV EAX,DR0", mov eax, dr0
    CHECK 3, "MOV DR0,EAX", mov dr0, eax
    CHECK 3, "MOV EAX,DR3", mov eax, dr3
    CHECK 3, "MOV DR3,EAX", mov dr3, eax
    CHECK 3, "MOV EAX,DR6", mov eax, dr6
    CHECK 3, "MOV DR6,EAX", mov dr6, eax
    CHECK 3, "MOV EAX,DR7", mov eax, dr7
    CHECK 3, "MOV DR7,EAX", mov dr7, eax
    CHECK 3, "HLT", hlt
    CHECK 3, "INVD", invd
    CHECK 3, "WBINVD", wbinvd
    CHECK 3, "INVLPG", invlpg [0x1000]
    CHECK 3, "RDMSR", rdmsr
    CHECK 3, "WRMSR", wrmsr
    CHECK 3, "SYSEXIT", sysexit
    CHECK 3, "CLI", cli
    CHECK 3, "STI", sti
    CHECK 3, "IN AL,80h", in al, 0x80
    CHECK 3, "IN AL,DX", in al, dx
    CHECK 3, "IN EAX,DX", in eax, dx
    CHECK 3, "OUT 80h,AL", out 0x80, al
    CHECK 3, "OUT DX,AL", out dx, al
    CHECK 3, "INSB", insb
    CHECK 3, "OUTSB", outsb
    CHECK 3, "INT 3 (gate DPL 0)", int3
    CHECK 3, "INT 0Dh (gate DPL 0)", int 0x0D
    CHECK 3, "INT 30h (gate DPL 3)", int 0x30
    CHECK 3, "RDTSC (CR4.TSD=0)", rdtsc
    CHECK 3, "RDPMC (CR4.PCE=0)", rdpmc

    ; CR4.TSD makes RDTSC privileged.
    mov eax, cr4
    or eax, CR4_TSD
    mov cr4, eax
    CHECK 3, "RDTSC (CR4.TSD=1)", rdtsc
    mov eax, cr4
    and eax, ~CR4_TSD
    mov cr4, eax

    ; Sensitive but not privileged: these run at CPL 3 and show ring-0 state.
    CHECK 3, "SGDT", sgdt [sgdt_result]
    CHECK 3, "SIDT", sidt [scratch]
    CHECK 3, "SLDT", sldt [scratch]
    CHECK 3, "STR", str [str_result]
    CHECK 3, "SMSW", smsw [scratch]
    CHECK 3, "PUSHF", pushf
    CHECK 3, "CPUID", cpuid

    ; Ring 1 is no better: CPL > 0 is all that matters for these.
    CHECK 1, "LGDT", lgdt [gdtr]
    CHECK 1, "MOV CR3,EAX", mov cr3, eax
    CHECK 1, "MOV DR7,EAX", mov dr7, eax
    CHECK 1, "HLT", hlt
    CHECK 1, "WRMSR", wrmsr
    CHECK 1, "CLI", cli
    CHECK 1, "OUT 80h,AL", out 0x80, al

    ; What SGDT and STR stored at CPL 3 is ring 0's state.
    PRINT "SGDT at CPL 3 stored limit "
    PHEX16 [sgdt_result]
    PRINTLN
    PRINT "STR at CPL 3 stored "
    PHEX16 [str_result]
    PRINTLN
    ret

zero_word:    dw 0
tss_selector: dw TSS_SEL
scratch:      times 8 db 0
sgdt_result:  times 6 db 0
str_result:   dw 0
GUEST_END
