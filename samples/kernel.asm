; kernel.asm: Ringside's demo kernel, a small multiboot kernel that does what real kernels do.
;
; Build and run:
;     nasm -f bin samples/kernel.asm -o kernel.bin
;     ringside run kernel.bin --stats
;     qemu-system-i386 -display none -serial stdio \
;         -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel kernel.bin
;
; It is a flat binary with a multiboot header that uses the "a.out kludge" (flag bit 16):
; the header itself says where to load the file (1 MiB), where the bss ends and where to
; start, so no ELF is needed. The loader enters `start` in 32-bit protected mode with flat
; segments, paging off and EAX = 0x2BADB002.
;
; Stages, one console line each (COM1, 115200 8N1, polled):
;   start             check the multiboot magic, set up COM1
;   setup_gdt         LGDT: ring-0 and ring-3 code and data, a TSS; reload segments; LTR
;   setup_idt         LIDT: exception handlers, the timer, the system call gate (DPL 3)
;   remap_pic         move IRQ 0-15 to vectors 0x20-0x2F, mask them all
;   check_cpuid       CPUID leaf 1: the features this kernel relies on
;   setup_sysenter    WRMSR/RDMSR: the SYSENTER MSRs
;   enable_paging     page directory, 4 KiB identity map, one 4 MiB page, global pages,
;                     MOV CR3/CR4/CR0
;   remap_demo        change a mapping, INVLPG, read the new frame through the old address
;   timer_demo        PIT at 100 Hz, STI/HLT until 5 ticks, CLI
;   run_user_task     IRET to ring 3: user_task makes system calls (INT 0x80 and
;                     SYSENTER) and touches an unmapped page, which page_fault_handler maps
;   finish            write 0 to port 0xF4: the run ends with status (0 << 1) | 1 = 1
;
; Nothing printed depends on timing, memory size or the host: the same lines appear under
; Ringside (every virtualization mode) and under QEMU.

bits 32

; ----------------------------------------------------------------------------- constants

LOAD_ADDRESS    equ 0x00100000      ; 1 MiB
MULTIBOOT_MAGIC equ 0x1BADB002
MULTIBOOT_FLAGS equ 0x00010000      ; bit 16: addresses in the header (a.out kludge)
MULTIBOOT_BOOTED equ 0x2BADB002     ; what a multiboot loader leaves in EAX

COM1            equ 0x3F8
EXIT_PORT       equ 0xF4            ; isa-debug-exit: status (value << 1) | 1

; Selectors: GDT index * 8 | requested privilege level.
KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10
USER_CS         equ 0x18 | 3
USER_DS         equ 0x20 | 3
TSS_SELECTOR    equ 0x28

; Page table entry bits.
PTE_PRESENT     equ 0x001
PTE_WRITABLE    equ 0x002
PTE_USER        equ 0x004
PTE_LARGE       equ 0x080           ; in a PDE with CR4.PSE: a 4 MiB page
PTE_GLOBAL      equ 0x100           ; kept in the TLB across CR3 loads when CR4.PGE = 1

CR0_WP          equ 0x00010000
CR0_PG          equ 0x80000000
CR4_PSE         equ 0x00000010
CR4_PGE         equ 0x00000080

; Addresses the paging stage maps.
LARGE_PAGE      equ 0x00400000      ; 4..8 MiB: one 4 MiB page
REMAP_VIRTUAL   equ 0x40000000      ; one 4 KiB page, first to frame_a, then to frame_b
DEMAND_VIRTUAL  equ 0x50000000      ; unmapped until the user task touches it

; CPUID leaf 1 EDX feature bits this kernel uses.
CPUID_PSE       equ 1 << 3
CPUID_TSC       equ 1 << 4
CPUID_MSR       equ 1 << 5
CPUID_SEP       equ 1 << 11
CPUID_PGE       equ 1 << 13
CPUID_NEEDED    equ CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_SEP | CPUID_PGE

MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176

; The PIT's input clock is 1.193182 MHz.
PIT_HZ          equ 100
PIT_DIVISOR     equ (1193182 + PIT_HZ / 2) / PIT_HZ
TICKS_WANTED    equ 5

; System calls, INT 0x80: EAX = number.
SYS_WRITE       equ 1               ; ESI = NUL-terminated string
SYS_EXIT        equ 2               ; EBX = exit code

; print msg: send the NUL-terminated string at label msg to COM1.
%macro print 1
    push esi
    mov esi, %1
    call puts
    pop esi
%endmacro

; ----------------------------------------------------------------------------- header

section .text
org LOAD_ADDRESS

multiboot_header:
    dd MULTIBOOT_MAGIC
    dd MULTIBOOT_FLAGS
    dd -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)     ; the three fields sum to zero
    dd multiboot_header                         ; header_addr: where this header lands
    dd multiboot_header                         ; load_addr: the file's first byte
    dd image_end                                ; load_end_addr: end of text and data
    dd bss_end                                  ; bss_end_addr: the loader zeroes the bss
    dd start                                    ; entry_addr

; ----------------------------------------------------------------------------- boot

start:
    cli
    mov esp, kernel_stack_top
    mov [boot_magic], eax
    call serial_init
    print msg_banner
    cmp dword [boot_magic], MULTIBOOT_BOOTED
    jne .not_multiboot
    print msg_multiboot
    jmp .setup
.not_multiboot:
    print msg_not_multiboot
.setup:
    call setup_gdt
    call setup_idt
    call remap_pic
    call check_cpuid
    call setup_sysenter
    call enable_paging
    call remap_demo
    call timer_demo
    call run_user_task
finish:
    print msg_done
    mov al, 0
    out EXIT_PORT, al
.halt:                                  ; only reached without an exit device
    cli
    hlt
    jmp .halt

; ----------------------------------------------------------------------------- GDT, TSS

setup_gdt:
    ; The TSS descriptor's base is an address: fill it in at run time.
    mov eax, tss
    mov [gdt_tss + 2], ax               ; base 15:0
    shr eax, 16
    mov [gdt_tss + 4], al               ; base 23:16
    mov [gdt_tss + 7], ah               ; base 31:24
    lgdt [gdt_descriptor]
    jmp KERNEL_CS:.reload_cs            ; a far jump loads CS from the new GDT
.reload_cs:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov ax, TSS_SELECTOR
    ltr ax                              ; the CPU takes ring-0 stacks from this TSS
    print msg_gdt
    ret

; ----------------------------------------------------------------------------- IDT

; set_gate: IDT entry EAX -> handler EBX, attribute byte DL (present, DPL, type).
set_gate:
    lea edi, [idt + eax * 8]
    mov [edi], bx                       ; offset 15:0
    mov word [edi + 2], KERNEL_CS
    mov byte [edi + 4], 0
    mov [edi + 5], dl
    shr ebx, 16
    mov [edi + 6], bx                   ; offset 31:16
    ret

INTERRUPT_GATE      equ 0x8E            ; present, DPL 0, 32-bit interrupt gate
USER_INTERRUPT_GATE equ 0xEE            ; present, DPL 3: INT n allowed from ring 3

setup_idt:
    ; Exceptions 0..31 go to small stubs that report the vector and stop the kernel.
    xor eax, eax
.exception:
    mov ebx, [exception_stubs + eax * 4]
    mov dl, INTERRUPT_GATE
    call set_gate
    inc eax
    cmp eax, 32
    jb .exception
    mov eax, 14
    mov ebx, page_fault_handler
    mov dl, INTERRUPT_GATE
    call set_gate
    mov eax, 0x20                       ; IRQ0 after remap_pic
    mov ebx, timer_handler
    mov dl, INTERRUPT_GATE
    call set_gate
    mov eax, 0x80
    mov ebx, syscall_handler
    mov dl, USER_INTERRUPT_GATE
    call set_gate
    lidt [idt_descriptor]
    print msg_idt
    ret

; ----------------------------------------------------------------------------- PIC

; remap_pic: the BIOS leaves IRQ 0-7 on vectors 8-15, where CPU exceptions live. Give
; the two 8259As vectors 0x20-0x2F and mask every IRQ until a device is wanted.
remap_pic:
    mov al, 0x11                        ; ICW1: edge triggered, cascaded, ICW4 follows
    out 0x20, al
    out 0xA0, al
    mov al, 0x20                        ; ICW2: vector bases
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 0x04                        ; ICW3: slave on IRQ2
    out 0x21, al
    mov al, 0x02
    out 0xA1, al
    mov al, 0x01                        ; ICW4: 8086 mode
    out 0x21, al
    out 0xA1, al
    mov al, 0xFF                        ; OCW1: mask all
    out 0x21, al
    out 0xA1, al
    print msg_pic
    ret

; ----------------------------------------------------------------------------- CPUID, MSRs

check_cpuid:
    mov eax, 1
    cpuid
    and edx, CPUID_NEEDED
    cmp edx, CPUID_NEEDED
    jne .missing
    print msg_cpuid
    ret
.missing:
    print msg_cpuid_missing
    jmp fail

; setup_sysenter: SYSENTER loads CS from SYSENTER_CS (SS = CS + 8), ESP and EIP from the
; other two MSRs; SYSEXIT returns to CS = SYSENTER_CS + 16, SS = + 24, at ring 3.
setup_sysenter:
    xor edx, edx
    mov ecx, MSR_SYSENTER_CS
    mov eax, KERNEL_CS
    wrmsr
    mov ecx, MSR_SYSENTER_ESP
    mov eax, sysenter_stack_top
    wrmsr
    mov ecx, MSR_SYSENTER_EIP
    mov eax, sysenter_handler
    wrmsr
    mov ecx, MSR_SYSENTER_CS            ; read back what was written
    rdmsr
    cmp eax, KERNEL_CS
    jne .mismatch
    mov ecx, MSR_SYSENTER_EIP
    rdmsr
    cmp eax, sysenter_handler
    jne .mismatch
    print msg_msr
    ret
.mismatch:
    print msg_msr_mismatch
    jmp fail

; ----------------------------------------------------------------------------- paging

; enable_paging:
;   0 .. 4 MiB      4 KiB pages, identity; kernel pages global and supervisor-only, the
;                   user task's code and stack pages user-accessible
;   4 .. 8 MiB      one 4 MiB page (CR4.PSE), identity, global
;   0x40000000      one 4 KiB page -> frame_a (remap_demo moves it to frame_b)
;   0x50000000      not present: the user task's first write there faults
enable_paging:
    mov edi, page_table_low
    xor ebx, ebx                        ; physical (= virtual) address of the page
.next_pte:
    mov eax, ebx
    or eax, PTE_PRESENT | PTE_WRITABLE | PTE_GLOBAL
    cmp ebx, user_start
    jb .store
    cmp ebx, user_end
    jb .user_page
    cmp ebx, user_stack
    jb .store
    cmp ebx, user_stack_top
    jae .store
.user_page:
    mov eax, ebx                        ; user pages: not global, ring 3 may touch them
    or eax, PTE_PRESENT | PTE_WRITABLE | PTE_USER
.store:
    mov [edi], eax
    add edi, 4
    add ebx, 0x1000
    cmp ebx, 0x400000
    jb .next_pte

    ; The directory: user bit set where any page below may be user-accessible
    ; (the PTE decides), the 4 MiB page directly in its PDE.
    mov dword [page_directory + 0 * 4], page_table_low + PTE_PRESENT + PTE_WRITABLE + PTE_USER
    mov dword [page_directory + (LARGE_PAGE >> 22) * 4], LARGE_PAGE | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE | PTE_GLOBAL
    mov dword [page_directory + (REMAP_VIRTUAL >> 22) * 4], page_table_remap + PTE_PRESENT + PTE_WRITABLE
    mov dword [page_directory + (DEMAND_VIRTUAL >> 22) * 4], page_table_demand + PTE_PRESENT + PTE_WRITABLE + PTE_USER
    mov dword [page_table_remap], frame_a + PTE_PRESENT + PTE_WRITABLE

    mov eax, cr4
    or eax, CR4_PSE | CR4_PGE           ; 4 MiB pages and global pages
    mov cr4, eax
    mov eax, page_directory
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP             ; paging on; read-only pages bind ring 0 too
    mov cr0, eax
    print msg_paging

    ; Touch the 4 MiB page: a write at its end reads back at the same address.
    mov dword [LARGE_PAGE + 0x3FFFFC], 0x4D694221
    cmp dword [LARGE_PAGE + 0x3FFFFC], 0x4D694221
    jne fail
    print msg_large_page
    ret

; remap_demo: the same virtual page shows frame_a, then, after its PTE is changed and the
; stale TLB entry is dropped with INVLPG, frame_b.
remap_demo:
    mov esi, REMAP_VIRTUAL
    call print_quoted                   ; through the mapping: frame_a's text
    print msg_remap_before
    mov dword [page_table_remap], frame_b + PTE_PRESENT + PTE_WRITABLE
    invlpg [REMAP_VIRTUAL]
    mov esi, REMAP_VIRTUAL
    call print_quoted
    print msg_remap_after
    ret

; ----------------------------------------------------------------------------- timer

timer_demo:
    mov al, 0x34                        ; PIT channel 0, lobyte/hibyte, mode 2 (rate generator)
    out 0x43, al
    mov al, PIT_DIVISOR & 0xFF
    out 0x40, al
    mov al, PIT_DIVISOR >> 8
    out 0x40, al
    in al, 0x21
    and al, 0xFE                        ; unmask IRQ0 only
    out 0x21, al
    in al, 0x21                         ; read the mask back
    movzx eax, al
    print msg_timer_start
    call print_hex8
    print msg_newline
.wait:
    sti                                 ; STI's shadow covers HLT: no wake-up is lost
    hlt
    cli
    cmp dword [ticks], TICKS_WANTED
    jb .wait
    mov al, 0xFF                        ; mask IRQ0 again
    out 0x21, al
    print msg_timer_done_1
    mov eax, [ticks]
    call print_dec
    print msg_timer_done_2
    ret

; timer_handler: IRQ0. Count the tick and acknowledge it at the PIC.
timer_handler:
    push eax
    inc dword [ticks]
    mov al, 0x20                        ; non-specific EOI
    out 0x20, al
    pop eax
    iretd

; ----------------------------------------------------------------------------- ring 3

; run_user_task: enter user_task at ring 3 by building the frame an interrupt from ring 3
; would have left (SS, ESP, EFLAGS, CS, EIP) and executing IRET. SYS_EXIT comes back here.
run_user_task:
    pushad
    mov [kernel_esp], esp
    print msg_user_enter
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    push dword USER_DS                  ; SS
    push dword user_stack_top           ; ESP
    push dword 0x202                    ; EFLAGS: IF = 1, IOPL = 0
    push dword USER_CS                  ; CS: RPL 3, so IRET drops to ring 3
    push dword user_task                ; EIP
    iretd
user_task_returned:                     ; syscall_handler's SYS_EXIT jumps here
    mov esp, [kernel_esp]
    popad
    ret

; syscall_handler: INT 0x80 from ring 3. The CPU switched to the TSS's ring-0 stack.
syscall_handler:
    push ds
    push es
    pushad
    mov bx, KERNEL_DS
    mov ds, bx
    mov es, bx
    mov ebx, [esp + 16]                 ; EBX as the user left it (pushad slot)
    cmp eax, SYS_WRITE
    je .write
    cmp eax, SYS_EXIT
    je .exit
    print msg_bad_syscall
    jmp .return
.write:
    print msg_syscall_prefix
    call puts                           ; ESI: the user's string (flat user memory)
.return:
    popad
    pop es
    pop ds
    iretd
.exit:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    print msg_user_exit
    mov eax, ebx
    call print_dec
    print msg_newline
    jmp user_task_returned

; sysenter_handler: SYSENTER from ring 3, on sysenter_stack with interrupts off.
; The user passes ESI = string, ECX = its ESP and EDX = where to return.
sysenter_handler:
    push ecx
    push edx
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    print msg_sysenter_prefix
    call puts
    pop edx
    pop ecx
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    sti                                 ; SYSENTER cleared IF; STI's shadow covers SYSEXIT
    sysexit                             ; EIP = EDX, ESP = ECX, CPL 3

; page_fault_handler: #PF. CR2 holds the address, the error code says why:
; bit 0 P (0 = page not present), bit 1 W/R (1 = write), bit 2 U/S (1 = from ring 3).
; A user fault in the demand area gets a zeroed page mapped; IRET retries the access.
page_fault_handler:
    pushad
    push ds
    mov ax, KERNEL_DS
    mov ds, ax
    mov ebx, cr2
    mov ecx, [esp + 36]                 ; the error code, above DS and PUSHAD
    print msg_pf_address
    mov eax, ebx
    call print_hex32
    print msg_pf_error
    mov eax, ecx
    call print_hex8
    call explain_pf_error
    cmp ebx, DEMAND_VIRTUAL
    jb .fatal
    cmp ebx, DEMAND_VIRTUAL + 0x1000
    jae .fatal
    test ecx, 1
    jnz .fatal                          ; present page: a protection fault
    mov edi, demand_frame               ; zero the frame, then map it
    push ecx
    mov ecx, 1024
    xor eax, eax
    push es
    push ds
    pop es
    rep stosd
    pop es
    pop ecx
    mov dword [page_table_demand], demand_frame + PTE_PRESENT + PTE_WRITABLE + PTE_USER
    invlpg [DEMAND_VIRTUAL]             ; drop any cached "not present" translation
    print msg_pf_mapped
    pop ds
    popad
    add esp, 4                          ; the error code
    iretd                               ; retry the faulting instruction
.fatal:
    print msg_pf_fatal
    jmp fail

; explain_pf_error: the error code in ECX in words, e.g. " (not present, write, user)".
explain_pf_error:
    print msg_pf_open
    mov esi, msg_pf_not_present
    test ecx, 1
    jz .p
    mov esi, msg_pf_protection
.p:
    call puts
    mov esi, msg_pf_read
    test ecx, 2
    jz .w
    mov esi, msg_pf_write
.w:
    call puts
    mov esi, msg_pf_kernel
    test ecx, 4
    jz .u
    mov esi, msg_pf_user
.u:
    call puts
    ret

; ----------------------------------------------------------------------------- exceptions

; Each stub pushes its vector; unexpected_exception prints it with the faulting EIP.
%assign vector 0
%rep 32
exception_ %+ vector:
    push dword vector
    jmp unexpected_exception
%assign vector vector + 1
%endrep

exception_stubs:
%assign vector 0
%rep 32
    dd exception_ %+ vector
%assign vector vector + 1
%endrep

unexpected_exception:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    print msg_exception
    pop eax
    call print_dec
    print msg_newline
fail:
    print msg_fail
    mov al, 1                           ; exit status (1 << 1) | 1 = 3
    out EXIT_PORT, al
.halt:
    cli
    hlt
    jmp .halt

; ----------------------------------------------------------------------------- COM1

; serial_init: 115200 baud (divisor 1), 8 data bits, no parity, 1 stop bit, polled.
serial_init:
    mov dx, COM1 + 1
    mov al, 0x00
    out dx, al                          ; IER: no UART interrupts
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                          ; LCR: DLAB = 1 to reach the divisor
    mov dx, COM1 + 0
    mov al, 0x01
    out dx, al                          ; divisor low
    mov dx, COM1 + 1
    mov al, 0x00
    out dx, al                          ; divisor high
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al                          ; LCR: 8N1, DLAB = 0
    ret

; putc: send AL when the transmit holding register is empty (LSR bit 5).
putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; puts: send the NUL-terminated string at ESI.
puts:
    push eax
    push esi
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop esi
    pop eax
    ret

; print_quoted: send the string at ESI between double quotes.
print_quoted:
    push eax
    mov al, '"'
    call putc
    call puts
    call putc
    pop eax
    ret

; print_hex32 / print_hex8: EAX / AL in upper-case hex.
print_hex32:
    push edx
    push ecx
    mov edx, eax
    mov ecx, 8
    jmp print_hex_digits
print_hex8:
    push edx
    push ecx
    mov edx, eax
    shl edx, 24
    mov ecx, 2
print_hex_digits:                       ; EDX: the digits, from the top; ECX: how many
    push eax
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .emit
    add al, 'A' - '0' - 10
.emit:
    call putc
    loop .digit
    pop eax
    pop ecx
    pop edx
    ret

; print_dec: EAX in decimal.
print_dec:
    pushad
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.emit:
    pop eax
    add al, '0'
    call putc
    loop .emit
    popad
    ret

; ----------------------------------------------------------------------------- tables

align 8
gdt:
    dq 0                                ; 0x00: the null descriptor
    dq 0x00CF9A000000FFFF               ; 0x08: ring-0 code, base 0, 4 GiB, 32-bit
    dq 0x00CF92000000FFFF               ; 0x10: ring-0 data
    dq 0x00CFFA000000FFFF               ; 0x18: ring-3 code
    dq 0x00CFF2000000FFFF               ; 0x20: ring-3 data
gdt_tss:
    dw tss_end - tss - 1                ; 0x28: 32-bit TSS, available; base set at run time
    dw 0
    db 0
    db 0x89                             ; present, DPL 0, type 9
    db 0
    db 0
gdt_end:

align 4
    dw 0
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

align 4
    dw 0
idt_descriptor:
    dw 256 * 8 - 1
    dd idt

; The TSS: only the ring-0 stack matters here (no hardware task switching). The I/O map
; base points past the limit: ring 3 has no I/O port access.
align 16
tss:
    dd 0                                ; previous task link
    dd ring0_stack_top                  ; ESP0: the stack for interrupts from ring 3
    dd KERNEL_DS                        ; SS0
    times 22 dd 0
    dw 0                                ; debug trap flag
    dw tss_end - tss                    ; I/O map base: beyond the limit
tss_end:

; ----------------------------------------------------------------------------- messages

msg_banner:          db "Ringside demo kernel", 10, 0
msg_multiboot:       db "boot: multiboot loader, kernel at 0x00100000, 32-bit protected mode", 10, 0
msg_not_multiboot:   db "boot: no multiboot magic in EAX (continuing)", 10, 0
msg_gdt:             db "gdt: kernel and user code/data segments, TSS loaded with LTR", 10, 0
msg_idt:             db "idt: 32 exception handlers, timer at 0x20, system calls at 0x80 (DPL 3)", 10, 0
msg_pic:             db "pic: IRQ 0-15 remapped to vectors 0x20-0x2F, all masked", 10, 0
msg_cpuid:           db "cpuid: PSE, TSC, MSR, SEP and PGE supported", 10, 0
msg_cpuid_missing:   db "cpuid: a feature this kernel needs is missing (PSE, TSC, MSR, SEP, PGE)", 10, 0
msg_msr:             db "msr: SYSENTER_CS/ESP/EIP written with WRMSR, read back with RDMSR", 10, 0
msg_msr_mismatch:    db "msr: RDMSR does not return what WRMSR wrote", 10, 0
msg_paging:          db "paging: on (4 KiB identity map, a 4 MiB page at 4 MiB, global kernel pages, WP)", 10, 0
msg_large_page:      db "paging: wrote and read back the last dword of the 4 MiB page", 10, 0
msg_remap_before:    db " read at 0x40000000", 10, 0
msg_remap_after:     db " read at 0x40000000 after changing its PTE and INVLPG", 10, 0
msg_timer_start:     db "timer: PIT channel 0 at 100 Hz, PIC mask now 0x", 0
msg_timer_done_1:    db "timer: ", 0
msg_timer_done_2:    db " ticks counted with STI/HLT, interrupts off again", 10, 0
msg_user_enter:      db "user: entering ring 3 with IRET", 10, 0
msg_syscall_prefix:  db "syscall write: ", 0
msg_sysenter_prefix: db "sysenter write: ", 0
msg_bad_syscall:     db "syscall: unknown number", 10, 0
msg_user_exit:       db "syscall exit: user task finished with code ", 0
msg_pf_address:      db "page fault: address 0x", 0
msg_pf_error:        db ", error code 0x", 0
msg_pf_open:         db " (", 0
msg_pf_not_present:  db "not present", 0
msg_pf_protection:   db "protection violation", 0
msg_pf_read:         db ", read", 0
msg_pf_write:        db ", write", 0
msg_pf_kernel:       db ", kernel mode)", 10, 0
msg_pf_user:         db ", user mode)", 10, 0
msg_pf_mapped:       db "page fault: mapped a zeroed page there, retrying the instruction", 10, 0
msg_pf_fatal:        db "page fault: not one the kernel can fix", 10, 0
msg_exception:       db "kernel: unexpected exception, vector ", 0
msg_fail:            db "kernel: stopping with exit status 3", 10, 0
msg_done:            db "kernel: all stages done, exit through port 0xF4", 10, 0
msg_newline:         db 10, 0

; ----------------------------------------------------------------------------- frames

; Two page-aligned frames with text, for remap_demo.
align 4096
frame_a: db "frame A", 0
align 4096
frame_b: db "frame B", 0

; ----------------------------------------------------------------------------- user task

; Everything between user_start and user_end is mapped user-accessible. The task can only
; ask the kernel for help: it has IOPL 0 and no I/O bitmap, so IN/OUT and CLI would fault.
align 4096
user_start:

user_task:
    mov eax, SYS_WRITE
    mov esi, user_msg_hello
    int 0x80

    mov esi, user_msg_sysenter          ; the fast system call
    mov ecx, esp                        ; SYSEXIT's ESP
    mov edx, .after_sysenter            ; SYSEXIT's EIP
    sysenter
.after_sysenter:

    mov eax, SYS_WRITE
    mov esi, user_msg_touch
    int 0x80
    mov dword [DEMAND_VIRTUAL + 0x10], 0x12345678   ; not present: #PF, then retried
    cmp dword [DEMAND_VIRTUAL + 0x10], 0x12345678
    jne .bad
    mov eax, SYS_WRITE
    mov esi, user_msg_touched
    int 0x80
    mov eax, SYS_EXIT
    xor ebx, ebx
    int 0x80
.bad:
    mov eax, SYS_EXIT
    mov ebx, 1
    int 0x80

user_msg_hello:    db "hello from ring 3 (INT 0x80)", 10, 0
user_msg_sysenter: db "hello again from ring 3 (SYSENTER/SYSEXIT)", 10, 0
user_msg_touch:    db "writing to 0x50000000, which is not mapped yet", 10, 0
user_msg_touched:  db "the write went through and reads back", 10, 0

user_end:

image_end:

; ----------------------------------------------------------------------------- bss

section .bss
alignb 4096
page_directory:     resb 4096
page_table_low:     resb 4096           ; 0..4 MiB in 4 KiB pages
page_table_remap:   resb 4096           ; 0x40000000..
page_table_demand:  resb 4096           ; 0x50000000..
demand_frame:       resb 4096
user_stack:         resb 4096           ; mapped user-accessible
user_stack_top:
idt:                resb 256 * 8
                    resb 8192
kernel_stack_top:
                    resb 4096
ring0_stack_top:                        ; TSS.ESP0: interrupts and INT 0x80 from ring 3
                    resb 4096
sysenter_stack_top:                     ; SYSENTER_ESP
boot_magic:         resd 1
kernel_esp:         resd 1
ticks:              resd 1
bss_end:
