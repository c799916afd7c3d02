; pvkernel.asm: a paravirtual kernel. It knows it runs on Ringside's hypervisor, and instead of doing
; privileged work itself (which a monitor would have to trap and emulate, one #GP at a time) it asks
; for it with hypercalls, as a Xen guest kernel does.
;
; The hypercall ABI: VMCALL with the call number in EAX, arguments in EBX, ECX, EDX, ESI, the result
; in EAX (negative: an error, as Linux's errno: -22 EINVAL, -38 ENOSYS).
;     0 console_write(address, length)    4 set_callback(upcall entry)
;     1 mmu_update(PTE address, value)    5 yield()               sleep until the next event
;     2 set_vif(0 or 1)  virtual IF        6 balloon(0 give / 1 take, address, pages)
;     3 set_timer(microseconds)           7 get_time()            EAX:EDX microseconds
; What it shows, one console line each:
;   - its page tables are read-only to it: it changes a mapping with mmu_update, the hypervisor
;     validates each update (it refuses one that would map a page table writable), and a direct
;     write to a page table faults;
;   - interrupts are virtual: a virtual IF it sets with set_vif, and a timer that arrives as an
;     upcall to the entry it registered, while it sleeps in yield;
;   - a memory balloon: 16 pages it does not need go back to the hypervisor, then come back.
;
; Run it:
;     npx ringside run samples/pvkernel.asm --mode paravirt --stats
; It prints its lines and ends with status 1; --stats counts every hypercall by name. Under a mode
; without the paravirtual ABI it says so and ends with status 3: under none, trap-and-emulate and
; binary-translation VMCALL is an invalid opcode (#UD); under vtx VMCALL exits to the hypervisor,
; which offers only some calls (console, time, yield, balloon) and answers the others -ENOSYS.
; QEMU has no hypervisor behind VMCALL either, so samples/expected/pvkernel.txt is the paravirt run.
;
; A flat binary at 1 MiB (what `ringside run` picks for this source), entered at its first byte in
; 32-bit protected mode with flat segments (selector 0x08 code, 0x10 data) and paging off.

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
F_A     equ 0x300000            ; two frames the window can show, holding 'A' and 'B'
F_B     equ 0x310000
WINDOW  equ 0x400000
BALLOON equ 0x380000            ; 16 pages the kernel does not need

COM1      equ 0x3F8
EXIT_PORT equ 0xF4              ; isa-debug-exit: status (value << 1) | 1
KERNEL_CS equ 0x08

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
    lidt [idt_descriptor]       ; first: without a hypervisor the first VMCALL raises #UD
    SAY "pvkernel: a paravirtual kernel, speaking through hypercalls", 10
    ; Register the upcall entry. The answer also tells whether this hypervisor has the paravirtual
    ; ABI: under vtx it answers -ENOSYS (a VM has a real IF and real interrupts, no upcalls).
    HCALL HC_CALLBACK, upcall
    test eax, eax
    js no_paravirt

    ; Page tables, built with paging off. The frames of the tables themselves are mapped read-only:
    ; the hypervisor refuses to run a paravirtual kernel that could write its own tables.
    mov edi, PD
    mov ecx, 3 * 1024
    xor eax, eax
    rep stosd
    mov edi, PT0
    mov eax, 3                  ; present, writable
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
    or eax, 0x80010000          ; PG, and WP: read-only pages are read-only to ring 0 too
    mov cr0, eax
    SAY "paging on; the window reads "
    HCALL HC_CONSOLE, WINDOW, 1
    SAY 10

    ; A mapping change goes through the hypervisor, which checks it and updates its shadow.
    SAY "mmu_update of the window's PTE to frame B: "
    HCALL HC_MMU, PT1, F_B | 3
    call print_result
    invlpg [WINDOW]             ; the guest still flushes its own TLB entry
    SAY "the window now reads "
    HCALL HC_CONSOLE, WINDOW, 1
    SAY 10
    SAY "mmu_update mapping a page table writable: "
    HCALL HC_MMU, PT1 + 4, PT0 | 3
    call print_result           ; -22: refused
    SAY "a direct write to a PTE: "
    mov dword [PT1 + 8], F_A | 3   ; 10 bytes: the #PF handler steps over it
    SAY 10

    ; Virtual interrupts: enable the virtual IF, then sleep in yield until the timer's upcall.
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
    setae al                    ; print 1 when it did: the exact figure depends on the PIT's phase
    movzx eax, al
    call print_result

    ; The balloon: the hypervisor takes the pages (and may give the host memory to someone else).
    SAY "balloon: give 16 pages back: "
    HCALL HC_BALLOON, 0, BALLOON, 16
    call print_result
    SAY "balloon: take them again: "
    HCALL HC_BALLOON, 1, BALLOON, 16
    call print_result
    SAY "pvkernel: done", 10
    mov al, 0
    out EXIT_PORT, al           ; the run ends with status 1
    hlt

; A hypervisor that answers hypercalls but not this ABI (vtx): say so through its console, stop.
no_paravirt:
    push eax
    SAY "pvkernel: set_callback answered "
    pop eax
    call print_result
    SAY "pvkernel: this hypervisor has no paravirtual interface; run with --mode paravirt", 10
    jmp fail

; #UD: VMCALL with no hypervisor behind it. No console hypercall either: write to COM1 directly.
invalid_opcode:
    mov esi, msg_no_hypervisor
.next:
    lodsb
    test al, al
    jz fail
    mov ah, al
    mov dx, COM1 + 5
.ready:
    in al, dx                   ; LSR bit 5: transmit holding register empty
    test al, 0x20
    jz .ready
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next

fail:
    mov al, 1
    out EXIT_PORT, al           ; the run ends with status 3
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
    add dword [esp + 4], 10     ; the saved EIP, above the error code
    add esp, 4                  ; drop the error code
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

msg_no_hypervisor:
    db "pvkernel: VMCALL raised #UD: no hypervisor is listening; run with --mode paravirt", 10, 0
ticks: dd 0
t0:    dd 0
numbuf: times 16 db 0

; An interrupt gate (DPL 0, 32-bit) to a handler in this file.
%macro GATE 1
    dw (%1 - $$ + 0x100000) & 0xFFFF
    dw KERNEL_CS
    dw 0x8E00
    dw (%1 - $$ + 0x100000) >> 16
%endmacro

idt_descriptor:
    dw 256 * 8 - 1
    dd idt
align 8
idt:
    times 6 dq 0
    GATE invalid_opcode         ; 6: #UD
    times 14 - 7 dq 0
    GATE page_fault             ; 14: #PF
    times 256 - 15 dq 0
