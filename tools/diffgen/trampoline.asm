; Entry into and exit from a test snippet, for the native harness (harness.c).
; dg_enter loads every general register and EFLAGS from dg_in, then jumps to the
; snippet at CODE. The snippet ends with a jump to the return page, which jumps
; here to dg_return; that stores the state into dg_out before touching anything.
bits 32

section .data
align 16
; Laid out in POPAD order (edi esi ebp esp ebx edx ecx eax) followed by EFLAGS.
global dg_in
dg_in:       times 9 dd 0
global dg_in_esp
dg_in_esp:   dd 0
global dg_code_ptr
dg_code_ptr: dd 0
; Filled by PUSHAD/PUSHFD: edi esi ebp esp ebx edx ecx eax eflags.
global dg_out
dg_out:      times 9 dd 0
global dg_out_esp
dg_out_esp:  dd 0
; es cs ss ds fs gs as seen when the snippet returned.
global dg_out_segs
dg_out_segs: times 6 dw 0
global dg_host_segs
dg_host_segs: times 4 dw 0        ; ds es fs gs of the harness
dg_host_esp: dd 0

section .text
global dg_enter
dg_enter:
    push ebp
    push ebx
    push esi
    push edi
    mov [dg_host_segs + 0], ds
    mov [dg_host_segs + 2], es
    mov [dg_host_segs + 4], fs
    mov [dg_host_segs + 6], gs
    mov [dg_host_esp], esp
    mov esp, dg_in
    popad
    popfd
    mov esp, [ss:dg_in_esp]        ; MOV leaves the flags alone
    jmp [ss:dg_code_ptr]

; Reached by a jump from the return page. Only SS is trusted here: the snippet may
; have loaded DS or ES with something else.
global dg_return
dg_return:
    mov [ss:dg_out_esp], esp
    mov esp, dg_out + 36
    pushfd
    pushad
    mov [ss:dg_out_segs + 0], es
    mov [ss:dg_out_segs + 2], cs
    mov [ss:dg_out_segs + 4], ss
    mov [ss:dg_out_segs + 6], ds
    mov [ss:dg_out_segs + 8], fs
    mov [ss:dg_out_segs + 10], gs
    mov ds, [ss:dg_host_segs + 0]
    mov es, [ss:dg_host_segs + 2]
    mov fs, [ss:dg_host_segs + 4]
    mov gs, [ss:dg_host_segs + 6]
    mov esp, [dg_host_esp]
    push dword 0x202               ; DF, AC, NT and ID clear again for C code
    popfd
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; Restores the harness's segment registers; called first thing in the signal handler
; (a faulting snippet may have left GS, which holds the thread pointer, changed).
global dg_fix_segs
dg_fix_segs:
    mov ds, [ss:dg_host_segs + 0]
    mov es, [ss:dg_host_segs + 2]
    mov fs, [ss:dg_host_segs + 4]
    mov gs, [ss:dg_host_segs + 6]
    pushfd
    and dword [esp], ~0x40400      ; clear AC and DF
    popfd
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
