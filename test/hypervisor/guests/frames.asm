; Exception and interrupt frames as the guest kernel finds them, for
; test/hypervisor/binary-translation.test.ts: a flat binary (32-bit protected mode at CPL 0, the
; boot GDT: CS 0x08, data 0x10) that takes INT3 (trap gate, IF off), #GP (interrupt gate, IF on),
; #PF (interrupt gate, IF off, 4 MiB paging) and one timer interrupt (IF on), each at ring 0. Every
; handler prints the CS, EFLAGS.IF and error code of its frame and IRETs back; after each return the
; kernel prints the IF it has. On bare hardware every CS is 0x08 (RPL 0) and IF is what it was.

bits 32
org 0x100000

%macro SAY 1                    ; print a string
    push esi
    mov esi, %1
    call puts
    pop esi
%endmacro

start:
    mov esp, 0x90000
    cli
    ; The IDT: every handler an interrupt gate (0x8e), INT3 a trap gate (0x8f).
    mov eax, int3_h
    mov ecx, 3
    mov dl, 0x8f
    call gate
    mov eax, gp_h
    mov ecx, 13
    mov dl, 0x8e
    call gate
    mov eax, pf_h
    mov ecx, 14
    mov dl, 0x8e
    call gate
    mov eax, timer_h
    mov ecx, 0x20
    mov dl, 0x8e
    call gate
    lidt [idtr]
    ; The PIC: IRQs at 0x20, all masked for now.
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xff
    out 0x21, al
    out 0xa1, al

    ; INT3 with IF off, through a trap gate.
    int3
    call show_if
    ; #GP with IF on: a selector beyond the GDT's limit.
    sti
    mov ax, 0x1230
gp_at:
    mov ds, ax
    call show_if
    ; #PF with IF off: 4 MiB identity paging of the first 4 MiB only.
    cli
    mov dword [pd], 0x83
    mov eax, cr4
    or eax, 0x10                ; PSE
    mov cr4, eax
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
pf_at:
    mov eax, [0x800000]         ; 5 bytes: A1 imm32
    call show_if
    ; The timer: PIT channel 0, IRQ 0 unmasked, HLT with IF on.
    mov al, 0x34
    out 0x43, al
    mov al, 0x00
    out 0x40, al
    mov al, 0x10
    out 0x40, al
    mov al, 0xfe
    out 0x21, al
    sti
.wait:
    hlt
    cmp byte [ticks], 0
    je .wait
    call show_if
    cli
    mov al, 0
    out 0xf4, al
    hlt

; Gate ECX: handler EAX, type DL.
gate:
    lea ecx, [idt + ecx * 8]
    mov [ecx], ax
    mov word [ecx + 2], 0x08
    mov byte [ecx + 4], 0
    mov [ecx + 5], dl
    shr eax, 16
    mov [ecx + 6], ax
    ret

int3_h:
    SAY s_int3
    mov ebx, esp
    call frame
    call nl
    iretd

gp_h:
    SAY s_gp
    lea ebx, [esp + 4]
    call frame
    mov eax, [esp]
    call err
    add esp, 4
    add dword [esp], 2          ; past MOV DS, AX
    mov ax, 0x10
    iretd

pf_h:
    SAY s_pf
    lea ebx, [esp + 4]
    call frame
    mov eax, [esp]
    call err
    add esp, 4
    add dword [esp], 5          ; past the load
    iretd

timer_h:
    push eax
    push ebx
    mov byte [ticks], 1
    mov al, 0xff                ; one tick is enough
    out 0x21, al
    mov al, 0x20
    out 0x20, al
    SAY s_timer
    lea ebx, [esp + 8]
    call frame
    call nl
    pop ebx
    pop eax
    iretd

; The frame at EBX (EIP, CS, EFLAGS): " cs=XX if=N".
frame:
    push eax
    SAY s_cs
    mov eax, [ebx + 4]
    call hex4
    SAY s_if
    mov eax, [ebx + 8]
    shr eax, 9
    and al, 1
    add al, '0'
    out 0xe9, al
    pop eax
    ret

nl:
    mov al, 10
    out 0xe9, al
    ret

; " err=XXXX\n" of EAX.
err:
    SAY s_err
    call hex4
    mov al, 10
    out 0xe9, al
    ret

; "if now N\n": the IF the kernel has after the IRET.
show_if:
    SAY s_now
    pushfd
    pop eax
    shr eax, 9
    and al, 1
    add al, '0'
    out 0xe9, al
    mov al, 10
    out 0xe9, al
    ret

; AX as four hex digits.
hex4:
    push ecx
    push edx
    mov edx, eax
    mov ecx, 4
.d: rol dx, 4
    mov al, dl
    and al, 15
    add al, '0'
    cmp al, '9'
    jbe .o
    add al, 7
.o: out 0xe9, al
    loop .d
    pop edx
    pop ecx
    ret

puts:
    push eax
.n: lodsb
    test al, al
    jz .e
    out 0xe9, al
    jmp .n
.e: pop eax
    ret

s_int3:  db "int3", 0
s_gp:    db "#GP", 0
s_pf:    db "#PF", 0
s_timer: db "timer", 0
s_cs:    db " cs=", 0
s_if:    db " if=", 0
s_err:   db " err=", 0
s_now:   db "if now ", 0

idtr: dw 256 * 8 - 1
      dd idt
ticks: db 0

align 4096
pd:  times 1024 dd 0
idt: times 256 dq 0
