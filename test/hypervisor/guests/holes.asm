; Virtualization holes for test/hypervisor/trap-and-emulate.test.ts: a flat binary (32-bit protected
; mode at CPL 0, paging off, IF clear) that runs each sensitive but unprivileged instruction and
; prints what it saw on port 0xE9, one line each. At ring 0 on bare hardware every value is 0 (or
; the boot GDT); under trap-and-emulate the guest kernel runs at ring 1 and sees otherwise.

bits 32
org 0x100000

%macro DIGIT 1                  ; print "label=<AL as a digit>\n"
    push eax
    mov al, %1
    out 0xe9, al
    mov al, '='
    out 0xe9, al
    pop eax
    add al, '0'
    out 0xe9, al
    mov al, 10
    out 0xe9, al
%endmacro

start:
    cli
    pushfd                      ; PUSHF: IF as the guest sees it
    pop eax
    shr eax, 9
    and al, 1
    DIGIT 'f'
    push dword 0x202            ; POPF asking for IF = 1...
    popfd
    pushfd                      ; ...and what PUSHF says after it
    pop eax
    shr eax, 9
    and al, 1
    DIGIT 'p'
    cli
    sgdt [gdtr]                 ; SGDT: 1 when it shows the boot GDT the guest really has
    cmp dword [gdtr + 2], 0x9558
    sete al
    DIGIT 'g'
    sidt [idtr]                 ; SIDT: 1 when the base is the guest's own (0 at boot)
    cmp dword [idtr + 2], 0
    sete al
    DIGIT 'i'
    smsw eax                    ; SMSW into a 32-bit register: CR0.PG (the guest has paging off)
    shr eax, 31
    DIGIT 'm'
    push cs                     ; PUSH CS: the RPL
    pop eax
    and al, 3
    DIGIT 'c'
    mov ax, ss                  ; MOV from SS: the RPL
    and al, 3
    DIGIT 's'
    mov ax, 0x10                ; LAR of the flat data selector: the DPL
    lar eax, ax
    shr eax, 13
    and al, 3
    DIGIT 'l'
    mov al, 0
    out 0xf4, al
    hlt

gdtr: dw 0
      dd 0
idtr: dw 0
      dd 0
