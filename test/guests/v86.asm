; v86: virtual-8086 mode. A ring-0 IRET with EFLAGS.VM = 1 enters it; INT n, exceptions
; and interrupts leave it through ring-0 gates (the frame holds GS, FS, DS, ES, and the
; data segment registers read 0 in the handler). With IOPL = 3, CLI, STI, PUSHF, POPF,
; INT n and IRET run; with IOPL < 3 they raise #GP(0), and a monitor emulates them: here it
; runs a small real-mode program whose INT 10h teletype calls it prints. IN/OUT in v86 mode
; consult the TSS I/O bitmap whatever IOPL is. INT3 is not IOPL-sensitive: every snippet
; ends with INT3 (vector 3 is a DPL 3 gate here), printed as "ok".
%include "lib/guest.inc"

V86_SEG  equ 0x0800             ; the program below is copied to linear 0x8000
V86_BASE equ V86_SEG * 16
V86_SP   equ 0xF000
EFL_VM   equ 1 << 17
IOPL3    equ 3 << 12
%define V(label) ((label) - v86_code)

main:
    PRINTLN "v86: virtual-8086 mode"
    mov esi, v86_code
    mov edi, V86_BASE
    mov ecx, v86_code_end - v86_code
    rep movsb
    GATE 3, [isr_stubs + 3 * 4], GATE_INT3

    ; A real-mode style program, IOPL 3, ending with INT 30h (a DPL 3 gate).
    PRINT "IOPL3 program, INT 30h to ring 0: "
    mov eax, V(v86_program)
    mov edx, EFL_VM | IOPL3 | 0x2
    call try_v86
    call print_outcome
    PRINT "  frame: CS:IP="
    PHEX16 [trap_frame + F_CS]
    PRINT ":"
    PHEX16 [trap_frame + F_EIP]
    PRINT " VM="
    mov eax, [trap_frame + F_EFLAGS]
    shr eax, 17
    and eax, 1
    call print_dec
    PRINT " SS:SP="
    PHEX16 [trap_frame + F_SS]
    PRINT ":"
    PHEX16 [trap_frame + F_ESP]
    PRINT " ES="
    PHEX16 [trap_frame + F_V86_ES]
    PRINT " DS="
    PHEX16 [trap_frame + F_V86_DS]
    PRINT " FS="
    PHEX16 [trap_frame + F_V86_FS]
    PRINT " GS="
    PHEX16 [trap_frame + F_V86_GS]
    PRINTLN
    PRINT "  in the handler: DS="
    PHEX16 [trap_frame + F_DS]
    PRINT " ES="
    PHEX16 [trap_frame + F_ES]
    PRINT " FS="
    PHEX16 [trap_frame + F_FS]
    PRINT " GS="
    PHEX16 [trap_frame + F_GS]
    PRINTLN
    PRINT "  0900:0010 <- 5A, linear 00009010 = "
    PHEX8 [0x9010]
    PRINT "; FFFF:0010 read "
    PHEX8 [trap_frame + F_EBX]
    PRINT ", linear 00100000 = "
    PHEX8 [0x100000]
    PRINTLN

    ; One instruction at a time, IOPL 3 and IOPL 0.
    mov dword [v86_eflags], EFL_VM | IOPL3 | 0x2
    PRINTLN "IOPL3 (the bitmap denies every port):"
    call run_snippets
    mov eax, 0x80
    call iomap_allow
    mov dword [v86_eflags], EFL_VM | 0x2
    PRINTLN "IOPL0 (the bitmap allows port 80h):"
    call run_snippets
    GATE 3, [isr_stubs + 3 * 4], GATE_INT
    PRINT "  INT3, IDT gate DPL 0: "
    mov eax, V(snip_int3)
    call run_v86
    GATE 3, [isr_stubs + 3 * 4], GATE_INT3

    ; A monitor emulating the IOPL-sensitive instructions for a v86 program.
    PRINT "monitor: IOPL0 program prints through INT 10h: "
    mov dword [hooks + 13 * 4], monitor_gp
    mov eax, V(v86_hello)
    mov edx, EFL_VM | 0x2
    call try_v86
    mov dword [hooks + 13 * 4], 0
    call v86_outcome
    PRINT "monitor: emulated CLI "
    PDEC [count_cli]
    PRINT ", STI "
    PDEC [count_sti]
    PRINT ", PUSHF "
    PDEC [count_pushf]
    PRINT ", POPF "
    PDEC [count_popf]
    PRINT ", INT 10h "
    PDEC [count_int10]
    PRINT "; the program saw FLAGS.IF="
    mov eax, [trap_frame + F_EAX]
    shr eax, 9
    and eax, 1
    call print_dec
    PRINTLN
    ret

run_snippets:
    mov ebx, snippets
.next:
    mov esi, [ebx + 4]
    test esi, esi
    jz .done
    PRINT "  "
    call puts
    PRINT ": "
    mov eax, [ebx]
    call run_v86
    add ebx, 8
    jmp .next
.done:
    ret

; run_v86: run the snippet at v86 offset EAX with EFLAGS [v86_eflags], print the outcome.
run_v86:
    push edx
    mov edx, [v86_eflags]
    call try_v86
    pop edx
    call v86_outcome
    ret

; v86_outcome: INT3 (vector 3) means the snippet ran to its end.
v86_outcome:
    cmp dword [trap_frame + F_VEC], 3
    jne print_outcome
    PRINTLN "ok"
    ret

; try_v86: IRET into v86 mode at V86_SEG:EAX with EFLAGS EDX (VM set), SS:SP = V86_SEG:V86_SP,
; DS = ES = V86_SEG, FS = GS = 0; caught like try_ring3.
try_v86:
    pushad
    mov [trap_base], eax
    mov [catch_esp], esp
    mov dword [catch_resume], try_resume
    push dword 0                ; GS
    push dword 0                ; FS
    push dword V86_SEG          ; DS
    push dword V86_SEG          ; ES
    push dword V86_SEG          ; SS
    push dword V86_SP           ; ESP
    push edx                    ; EFLAGS
    push dword V86_SEG          ; CS
    push eax                    ; EIP
    iretd

; monitor_gp: #GP hook while the monitor runs. Emulates CLI, STI, PUSHF, POPF and
; INT 10h AH=0Eh (teletype: AL to COM1); INT 20h ends the program (CF set: caught).
monitor_gp:
    test dword [ebp + F_EFLAGS], EFL_VM
    jz .unhandled
    movzx esi, word [ebp + F_CS]
    shl esi, 4
    add esi, [ebp + F_EIP]
    mov al, [esi]
    cmp al, 0xFA
    je .cli
    cmp al, 0xFB
    je .sti
    cmp al, 0x9C
    je .pushf
    cmp al, 0x9D
    je .popf
    cmp al, 0xCD
    jne .unhandled
    cmp byte [esi + 1], 0x10
    jne .unhandled
    inc dword [count_int10]
    mov eax, [ebp + F_EAX]
    cmp ah, 0x0E
    jne .unhandled
    call putc
    add dword [ebp + F_EIP], 2
    clc
    ret
.cli:
    inc dword [count_cli]
    mov dword [virtual_if], 0
    jmp .one_byte
.sti:
    inc dword [count_sti]
    mov dword [virtual_if], 0x200
    jmp .one_byte
.pushf:
    inc dword [count_pushf]
    sub word [ebp + F_ESP], 2
    call v86_stack
    mov eax, [ebp + F_EFLAGS]
    and eax, ~(0x200 | 0x3000)  ; FLAGS as the program should see them: its own IF
    or eax, [virtual_if]
    mov [edi], ax
    jmp .one_byte
.popf:
    inc dword [count_popf]
    call v86_stack
    movzx eax, word [edi]
    add word [ebp + F_ESP], 2
    and eax, 0x200
    mov [virtual_if], eax
.one_byte:
    inc dword [ebp + F_EIP]
    clc
    ret
.unhandled:
    stc
    ret

; v86_stack: EDI = linear address of the v86 SS:SP in the frame at EBP.
v86_stack:
    movzx edi, word [ebp + F_SS]
    shl edi, 4
    movzx eax, word [ebp + F_ESP]
    add edi, eax
    ret

align 4
v86_eflags:  dd 0
virtual_if:  dd 0
count_cli:   dd 0
count_sti:   dd 0
count_pushf: dd 0
count_popf:  dd 0
count_int10: dd 0

snippets:
    dd V(snip_cli),   .cli
    dd V(snip_sti),   .sti
    dd V(snip_pushf), .pushf
    dd V(snip_popf),  .popf
    dd V(snip_int),   .int
    dd V(snip_iret),  .iret
    dd V(snip_hlt),   .hlt
    dd V(snip_in80),  .in80
    dd V(snip_out3f9), .out3f9
    dd V(snip_movcr0), .movcr0
    dd 0, 0
.cli:    db "CLI", 0
.sti:    db "STI", 0
.pushf:  db "PUSHF", 0
.popf:   db "POPF", 0
.int:    db "INT 30h", 0
.iret:   db "IRET", 0
.hlt:    db "HLT", 0
.in80:   db "IN AL,80h", 0
.out3f9: db "OUT 3F9h,AL", 0
.movcr0: db "MOV EAX,CR0", 0

; ---------------------------------------------------------------- v86 code (at 0800:0000)
bits 16
v86_code:
v86_program:
    mov ax, 0x0900
    mov es, ax
    mov byte [es:0x0010], 0x5A
    mov ax, 0xFFFF
    mov fs, ax
    xor bx, bx
    mov bl, [fs:0x0010]         ; linear 0x100000: v86 addresses reach past 1 MiB
    int 0x30
snip_cli:
    cli
    int3
snip_sti:
    sti
    int3
snip_pushf:
    pushf
    int3
snip_popf:
    push word 0x0002
    popf
    int3
snip_int:
    int 0x30
snip_iret:
    push word 0x0002            ; FLAGS, CS, IP for IRET
    push cs
    push word V(.back)
    iret
.back:
    int3
snip_hlt:
    hlt
    int3
snip_in80:
    in al, 0x80
    int3
snip_out3f9:
    xor al, al
    mov dx, 0x3F9
    out dx, al
    int3
snip_movcr0:
    mov eax, cr0
    int3
snip_int3:
    int3

v86_hello:                      ; a real-mode program: its IOPL-sensitive steps trap
    cli
    mov si, V(.text)
.next:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0E
    int 0x10
    jmp .next
.done:
    sti
    pushf
    pop ax
    push ax
    popf
    int3
.text: db "hello from v86 ", 0
v86_code_end:
bits 32
GUEST_END
