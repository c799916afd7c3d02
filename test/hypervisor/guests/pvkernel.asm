; pvkernel: a paravirtual kernel. It knows it runs on Ringside's hypervisor and asks it for privileged
; work through hypercalls (VMCALL: number in EAX, arguments in EBX, ECX, EDX, ESI, result in EAX):
; its console, its page-table updates (its tables are read-only to it, Xen-style: each update is
; validated), its interrupt flag, a timer that arrives as an upcall, yielding the CPU, the time, and
; a memory balloon. Run it with `--mode paravirt`; without a hypervisor VMCALL is #UD.
; A flat binary: 32-bit protected mode at 1 MiB, paging off.

bits 32
org 0x100000

HC_CONSOLE  equ 0
HC_MMU      equ 1
HC_VIF      equ 2
HC_TIMER    equ 3
HC_CALLBACK equ 4
HC_YIELD    equ 5
HC_BALLOON  equ 6
HC_TIME     equ 7

PD      equ 0x200000            ; page directory
PT0     equ 0x201000            ; identity map of 0..4 MiB
PT1     equ 0x202000            ; linear 4 MiB..: the window
F_A     equ 0x300000
F_B     equ 0x310000
WINDOW  equ 0x400000
BALLOON equ 0x380000            ; 16 pages the kernel does not need

%macro HCALL 1-4
    mov eax, %1
  %if %0 >= 2
    mov ebx, %2
  %endif
  %if %0 >= 3
    mov ecx, %3
  %endif
  %if %0 >= 4
    mov edx, %4
  %endif
    vmcall
%endmacro

%macro SAY 1+                   ; print a string through the console hypercall
    jmp %%over
%%text: db %1
%%end:
%%over:
    HCALL HC_CONSOLE, %%text, %%end - %%text
%endmacro

start:
    mov esp, 0x90000
    SAY "pvkernel: a paravirtual kernel, speaking through hypercalls", 10
    lidt [idt_descriptor]       ; a #PF handler (vector 14)
    ; Page tables, built with paging off. Their own frames are mapped read-only.
    mov edi, PD
    mov ecx, 3 * 1024
    xor eax, eax
    rep stosd
    mov edi, PT0
    mov eax, 3
    mov ecx, 1024
.id:
    stosd
    add eax, 0x1000
    loop .id
    and dword [PT0 + (PD >> 12) * 4], ~2
    and dword [PT0 + (PT0 >> 12) * 4], ~2
    and dword [PT0 + (PT1 >> 12) * 4], ~2
    mov dword [PT1], F_A | 3
    mov dword [PD], PT0 | 3
    mov dword [PD + 4], PT1 | 3
    mov byte [F_A], 'A'
    mov byte [F_B], 'B'
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000          ; PG, WP
    mov cr0, eax
    SAY "paging on; the window reads "
    HCALL HC_CONSOLE, WINDOW, 1
    SAY 10

    SAY "mmu_update of the window's PTE to frame B: "
    HCALL HC_MMU, PT1, F_B | 3
    call print_result
    invlpg [WINDOW]
    SAY "the window now reads "
    HCALL HC_CONSOLE, WINDOW, 1
    SAY 10
    SAY "mmu_update mapping a page table writable: "
    HCALL HC_MMU, PT1 + 4, PT0 | 3
    call print_result
    SAY "a direct write to a PTE: "
    mov dword [PT1 + 8], F_A | 3   ; 10 bytes: the #PF handler steps over it
    SAY 10

    HCALL HC_CALLBACK, upcall
    HCALL HC_TIME
    mov [t0], eax
    HCALL HC_VIF, 1
.tick:
    HCALL HC_TIMER, 1000        ; one millisecond
    HCALL HC_YIELD              ; the upcall ends the wait
    cmp dword [ticks], 3
    jb .tick
    HCALL HC_VIF, 0
    SAY "3 timer upcalls; virtual time advanced "
    HCALL HC_TIME
    sub eax, [t0]
    cmp eax, 2900               ; three timers of 1000 us (the PIT counts 1193 ticks of 0.838 us)
    setae al
    movzx eax, al
    call print_result
    SAY "balloon: give 16 pages back: "
    HCALL HC_BALLOON, 0, BALLOON, 16
    call print_result
    SAY "balloon: take them again: "
    HCALL HC_BALLOON, 1, BALLOON, 16
    call print_result
    SAY "pvkernel: done", 10
    mov al, 0
    out 0xf4, al
    hlt

; upcall: the timer. The upcall clears the virtual IF; IRET cannot set it at ring 1, so the kernel
; turns it back on with the hypercall first, as a paravirtual kernel must.
upcall:
    push eax
    push ebx
    inc dword [ticks]
    HCALL HC_VIF, 1
    pop ebx
    pop eax
    iretd

; #PF: report the write to a read-only page table and step over the 10-byte MOV.
page_fault:
    push eax
    push ebx
    push ecx
    SAY "#PF (the page tables are read-only to the guest)"
    pop ecx
    pop ebx
    pop eax
    add dword [esp + 4], 10
    add esp, 4                  ; the error code
    iretd

; print_result: EAX as a signed decimal, then a newline, through the console hypercall.
print_result:
    pushad
    mov edi, numbuf + 15
    mov byte [edi], 10
    mov ebx, eax
    test eax, eax
    jns .digits
    neg eax
.digits:
    xor edx, edx
    mov ecx, 10
    div ecx
    add dl, '0'
    dec edi
    mov [edi], dl
    test eax, eax
    jnz .digits
    test ebx, ebx
    jns .out
    dec edi
    mov byte [edi], '-'
.out:
    mov ecx, numbuf + 16
    sub ecx, edi
    HCALL HC_CONSOLE, edi, ecx
    popad
    ret

ticks: dd 0
t0:    dd 0
numbuf: times 16 db 0
idt_descriptor:
    dw 256 * 8 - 1
    dd idt
align 8
idt:
    times 14 dq 0
    dw page_fault - 0x100000 + 0x0000 ; patched below at assembly time: offset 15:0
    dw 0x08
    dw 0x8E00
    dw 0x0010                   ; offset 31:16 (the kernel is at 1 MiB)
    times (256 - 15) dq 0
