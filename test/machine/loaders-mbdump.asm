; A multiboot kernel that prints, on COM1, everything a loader hands it: registers on entry, the
; info block, command line, loader name, modules and memory map. The loader tests boot it under
; QEMU and compare with the same dump computed from Ringside's loader output.
; Assemble with -f bin (a.out kludge) or -f elf32 -DELF (link with ld at 0x100000).
    bits 32
%ifdef ELF
    section .text
    global _start
%else
    org 0x100000
%endif
MB_FLAGS equ 0x00000003 | (1 << 16)
%ifdef ELF
MB_HDR_FLAGS equ 0x00000003
%else
MB_HDR_FLAGS equ MB_FLAGS
%endif
    align 4
hdr:
    dd 0x1BADB002, MB_HDR_FLAGS, -(0x1BADB002 + MB_HDR_FLAGS)
%ifndef ELF
    dd hdr, hdr, load_end, bss_end, _start
%endif
_start:
    pushfd
    pushad
    mov ebp, esp
    mov esp, stack_top
    ; registers: EAX EBX ECX EDX ESP EDI EFLAGS (pushad order is EDI ESI EBP ESP EBX EDX ECX EAX)
    mov esi, s_regs
    call puts
    mov eax, [ebp + 28]
    call hex
    mov eax, [ebp + 16]
    call hex
    mov eax, [ebp + 24]
    call hex
    mov eax, [ebp + 20]
    call hex
    mov eax, [ebp + 12]
    call hex
    mov eax, [ebp + 0]
    call hex
    mov eax, [ebp + 32]
    call hex
    mov esi, s_segs
    call puts
    xor eax, eax
    mov ax, cs
    call hex
    mov ax, ds
    call hex
    mov ax, es
    call hex
    mov ax, fs
    call hex
    mov ax, gs
    call hex
    mov ax, ss
    call hex
    sgdt [gdtr]
    movzx eax, word [gdtr]
    call hex
    mov eax, cr0
    call hex
    call nl
    ; the info block, 22 dwords
    mov ebx, [ebp + 16]
    xor ecx, ecx
.info:
    mov eax, [ebx + ecx * 4]
    call hex
    inc ecx
    cmp ecx, 22
    jne .info
    call nl
    mov esi, s_cmd
    call puts
    mov esi, [ebx + 16]
    call puts
    call nl
    mov esi, s_ldr
    call puts
    mov esi, [ebx + 64]
    call puts
    call nl
    ; modules: start end string-address string first-dword
    mov edi, [ebx + 24]
    mov ecx, [ebx + 20]
.mod:
    test ecx, ecx
    jz .mods_done
    mov eax, [edi]
    call hex
    mov eax, [edi + 4]
    call hex
    mov eax, [edi + 8]
    call hex
    mov esi, [edi + 8]
    call puts
    mov al, ' '
    call putc
    mov esi, [edi]
    mov eax, [esi]
    call hex
    call nl
    add edi, 16
    dec ecx
    jmp .mod
.mods_done:
    ; memory map entries: size, base lo/hi, length lo/hi, type
    mov edi, [ebx + 48]
    mov edx, edi
    add edx, [ebx + 44]
.mmap:
    cmp edi, edx
    jae .mmap_done
    xor ecx, ecx
.field:
    mov eax, [edi + ecx * 4]
    call hex
    inc ecx
    cmp ecx, 6
    jne .field
    call nl
    add edi, [edi]
    add edi, 4
    jmp .mmap
.mmap_done:
    mov esi, s_end
    call puts
    mov al, 0
    out 0xf4, al
    cli
    hlt

nl:
    push eax
    mov al, 10
    call putc
    pop eax
    ret
puts:                           ; esi = string
    push eax
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop eax
    ret
putc:                           ; al = byte
    push edx
    push eax
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, 0x3f8
    out dx, al
    pop edx
    ret
hex:                            ; eax, then a space
    push ecx
    push eax
    mov ecx, 8
.digit:
    rol eax, 4
    push eax
    and al, 15
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 7
.out:
    call putc
    pop eax
    loop .digit
    mov al, ' '
    call putc
    pop eax
    pop ecx
    ret

s_regs: db "regs ", 0
s_segs: db 10, "segs ", 0
s_cmd: db "cmdline ", 0
s_ldr: db "loader ", 0
s_end: db "end", 10, 0
load_end:
%ifdef ELF
    section .bss
%else
    section .bss follows=.text nobits
%endif
    alignb 4
gdtr: resb 8
    resb 4096
stack_top:
bss_end:
