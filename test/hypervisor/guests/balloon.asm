; balloon: a guest that gives four pages back to the hypervisor (balloon hypercall 6), touches one of
; them again (it comes back as a fresh zero page), and takes the other three back. Run under
; --mode vtx (EPT or shadow) or paravirt. Prints on port 0xE9; a digit marks each step for the test.
bits 32
org 0x100000
PAGES equ 0x380000

%macro HCALL 4
    mov eax, %1
    mov ebx, %2
    mov ecx, %3
    mov edx, %4
    vmcall
%endmacro
%macro PUT 1
    mov al, %1
    out 0xe9, al
%endmacro

start:
    mov esp, 0x90000
    mov dword [PAGES], 0x12345678       ; the page is the guest's: mapped, written
    PUT '1'
    HCALL 6, 0, PAGES, 4                ; give PAGES..+4 pages back
    add al, '0'
    out 0xe9, al                        ; "4"
    PUT '2'
    mov eax, [PAGES]                    ; touch the first one again
    test eax, eax
    setz al
    add al, '0'
    out 0xe9, al                        ; "1": a fresh zero page
    PUT '3'
    HCALL 6, 1, PAGES + 0x1000, 3       ; take the other three back
    add al, '0'
    out 0xe9, al                        ; "3"
    HCALL 6, 1, PAGES, 1                ; the first came back already: refused
    neg eax
    cmp eax, 22
    sete al
    add al, '0'
    out 0xe9, al                        ; "1": -EINVAL
    PUT 10
    mov al, 0
    out 0xf4, al
    hlt
