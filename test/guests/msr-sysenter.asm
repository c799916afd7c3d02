; msr-sysenter: RDMSR/WRMSR (SYSENTER MSRs, EFER.NXE, PAT, APIC_BASE, TSC; an unknown MSR
; raises #GP(0)), RDTSC counting up, the CPUID feature bits a kernel relies on, and a
; SYSENTER/SYSEXIT round trip between ring 3 and ring 0.
%include "lib/guest.inc"

MSR_TSC          equ 0x010
MSR_APIC_BASE    equ 0x01B
MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
MSR_PAT          equ 0x277
MSR_EFER         equ 0xC0000080
SYSENTER_STACK   equ 0x248000

%macro CHECK 2-5                ; "name", instruction...
    PRINT "CPL0 ", %1, ": "
    jmp %%run
%%code:
    %2
  %if %0 >= 3
    %3
  %endif
  %if %0 >= 4
    %4
  %endif
  %if %0 >= 5
    %5
  %endif
    int VEC_DONE
%%run:
    TRY0 %%code
%endmacro

; FEATURE "name", register, bit: print "name" when CPUID reported the bit, else "-name".
%macro FEATURE 3
    bt %2, %3
    jc %%yes
    PRINT " -", %1
    jmp %%done
%%yes:
    PRINT " ", %1
%%done:
%endmacro

main:
    PRINTLN "msr-sysenter: MSRs, RDTSC, CPUID features, SYSENTER/SYSEXIT"
    CHECK "RDMSR 12345h (no such MSR)", {mov ecx, 0x12345}, {rdmsr}
    CHECK "WRMSR 12345h (no such MSR)", {mov ecx, 0x12345}, {xor eax, eax}, {xor edx, edx}, {wrmsr}

    ; Values written and read back.
    mov ecx, MSR_SYSENTER_CS
    mov eax, KCODE
    xor edx, edx
    wrmsr
    mov ecx, MSR_SYSENTER_ESP
    mov eax, SYSENTER_STACK
    wrmsr
    mov ecx, MSR_SYSENTER_EIP
    mov eax, sysenter_entry
    wrmsr
    PRINT "SYSENTER_CS="
    mov ecx, MSR_SYSENTER_CS
    call print_msr
    PRINT " SYSENTER_ESP="
    mov ecx, MSR_SYSENTER_ESP
    call print_msr
    PRINT " SYSENTER_EIP=sysenter_entry-"
    mov ecx, MSR_SYSENTER_EIP
    rdmsr
    mov ebx, sysenter_entry
    sub ebx, eax
    PDEC ebx
    PRINTLN
    PRINT "PAT at reset="
    mov ecx, MSR_PAT
    call print_msr
    PRINTLN
    PRINT "APIC_BASE="
    mov ecx, MSR_APIC_BASE
    call print_msr
    PRINTLN
    PRINT "EFER.NXE: "
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~(1 << 11)
    wrmsr
    rdmsr
    shr eax, 11
    and eax, 1
    call print_dec
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1 << 11
    wrmsr
    rdmsr
    shr eax, 11
    and eax, 1
    PRINT " after setting it: "
    call print_dec
    PRINTLN

    ; The TSC counts up, and WRMSR to it sets it.
    rdtsc
    mov esi, eax
    mov edi, edx
    nop
    rdtsc
    sub eax, esi
    sbb edx, edi
    PRINT "RDTSC twice: the second is "
    or eax, edx
    jz .same
    test edx, edx
    js .less
    PRINTLN "greater"
    jmp .tsc_write
.same:
    PRINTLN "equal"
    jmp .tsc_write
.less:
    PRINTLN "smaller"
.tsc_write:
    mov ecx, MSR_TSC
    xor eax, eax
    mov edx, 0x10
    wrmsr
    rdtsc
    PRINT "after WRMSR TSC=10_00000000, RDTSC high dword="
    PHEX32 edx
    PRINTLN

    ; CPUID: the bits this project's kernels and guests rely on.
    mov eax, 1
    cpuid
    PRINT "CPUID.1:EDX"
    FEATURE "PSE", edx, 3
    FEATURE "TSC", edx, 4
    FEATURE "MSR", edx, 5
    FEATURE "PAE", edx, 6
    FEATURE "CX8", edx, 8
    FEATURE "SEP", edx, 11
    FEATURE "PGE", edx, 13
    FEATURE "CMOV", edx, 15
    FEATURE "PAT", edx, 16
    PRINTLN
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_ext
    mov eax, 0x80000001
    cpuid
    PRINT "CPUID.80000001h:EDX"
    FEATURE "NX", edx, 20
    PRINTLN
    jmp .sysenter
.no_ext:
    PRINTLN "CPUID.80000001h: missing"

.sysenter:
    ; SYSENTER from ring 3: CS = SYSENTER_CS, SS = CS + 8, ESP and EIP from the MSRs, IF
    ; and VM cleared; SYSEXIT: CS = SYSENTER_CS + 16 | 3, SS = + 24 | 3, EIP = EDX, ESP = ECX.
    PRINT "SYSENTER from CPL 3 and SYSEXIT back: "
    TRY3 user_sysenter
    PRINT "  in ring 0: CS="
    PHEX16 [seen_cs]
    PRINT " SS="
    PHEX16 [seen_ss]
    PRINT " ESP="
    PHEX32 [seen_esp]
    PRINT " IF="
    PDEC [seen_if]
    PRINTLN
    PRINT "  back in ring 3: CS="
    PHEX16 [trap_frame + F_CS]
    PRINT " SS="
    PHEX16 [trap_frame + F_SS]
    PRINT " ESP=USTACK_TOP-"
    mov eax, USTACK_TOP
    sub eax, [trap_frame + F_ESP]
    call print_dec
    PRINT " EAX="
    PHEX32 [trap_frame + F_EAX]
    PRINTLN
    mov ecx, MSR_SYSENTER_CS
    xor eax, eax
    xor edx, edx
    wrmsr
    PRINT "CPL3 SYSENTER with SYSENTER_CS=0: "
    TRY3 user_sysenter
    CHECK "SYSEXIT with SYSENTER_CS=0", {sysexit}
    ret

print_msr:                      ; the MSR in ECX as EDX_EAX
    push eax
    push edx
    rdmsr
    PHEX32 edx
    PRINT "_"
    PHEX32 eax
    pop edx
    pop eax
    ret

user_sysenter:
    mov ecx, esp                ; where SYSEXIT puts ESP
    mov edx, .back              ; and EIP
    sysenter
.back:
    int VEC_DONE

sysenter_entry:
    mov [seen_esp], esp
    mov ax, cs
    movzx eax, ax
    mov [seen_cs], eax
    mov ax, ss
    movzx eax, ax
    mov [seen_ss], eax
    pushfd
    pop eax
    shr eax, 9
    and eax, 1
    mov [seen_if], eax
    mov eax, 0x5EE0
    sysexit

align 4
seen_cs:  dd 0
seen_ss:  dd 0
seen_esp: dd 0
seen_if:  dd 0
GUEST_END
