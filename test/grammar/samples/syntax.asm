; every corner of NASM syntax the grammar must colour
%include "macros.inc"
%define PORT 0x3f8
%macro outb 2
    mov dx, %1
    mov al, %2
    out dx, al
%endmacro
bits 32
section .text
org 0x100000
start:
.loop:
    mov eax, cr0
    or eax, 0x80000001
    mov cr0, eax
    mov cr3, ebx
    mov dr7, eax
    mov ebx, eax
    lgdt [gdt_descriptor]
    cli
    in al, dx
    pushfd
    sgdt [saved]
    cpuid
    vmcall
    vmlaunch
    vmrun
    invept eax, [desc]
    jne .loop
    rep movsb
    mov ax, ss
    hlt
numbers:
    dd 123, 123d, 0d123, 0t123, 0x1F, 1Fh, 0h1F, $0F, 777q, 777o, 0q777, 0o777
    dd 1010b, 1010y, 0b1010, 0y1_010, 1.5, 1.5e-3
    db "double", 'single', `back\n`, 0
    times 510 - ($ - $$) db 0
value equ 42
%%local: nop
