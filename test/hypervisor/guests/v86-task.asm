; v86-task: a hardware task switch into a virtual-8086 task and out of it again
; (test/hypervisor/trap-and-emulate.test.ts). Main JMPs to a TSS whose EFLAGS has VM and IOPL 3
; set; the v86 code sets registers and executes INT 3Dh, an IDT task gate back to the main task.
; Main then prints what the switch saved in the v86 task's TSS. Assemble with -i test/guests/.
%include "lib/guest.inc"

V86_TASK equ 0x40               ; TSS descriptor of the v86 task
VEC_BACK equ 0x3D               ; IDT task gate (DPL 3) -> the main task

main:
    PRINTLN "v86-task: a task switch into virtual-8086 mode and back"
    mov esi, v86_code
    mov edi, 0x8000
    mov ecx, v86_code_end - v86_code
    rep movsb
    DESC V86_TASK, tss_v86, 0x67, ACC_P | T_TSS32, 0
    mov dword [tss_v86 + tss32.eip], 0
    mov dword [tss_v86 + tss32.eflags], (1 << 17) | (3 << 12) | 0x202
    mov dword [tss_v86 + tss32.esp], 0xF000
    mov dword [tss_v86 + tss32.cs], 0x0800
    mov dword [tss_v86 + tss32.ss], 0x0800
    mov dword [tss_v86 + tss32.ds], 0x0900
    mov dword [tss_v86 + tss32.es], 0x0800
    mov word [tss_v86 + tss32.iomap], 0x68
    mov word [idt + VEC_BACK * 8 + 2], TSS_SEL
    mov byte [idt + VEC_BACK * 8 + 5], ACC_P | ACC_DPL3 | T_TASKGATE
    PRINTLN "main: JMP to the v86 task"
    jmp V86_TASK:0
    PRINT "main: back through the task gate, link="
    PHEX16 [tss + tss32.link]
    PRINT " NT="
    pushfd
    pop eax
    shr eax, 14
    and eax, 1
    call print_dec
    PRINTLN
    PRINT "v86 task saved: EIP="
    PHEX32 [tss_v86 + tss32.eip]
    PRINT " EFLAGS="
    PHEX32 [tss_v86 + tss32.eflags]
    PRINT " EAX="
    PHEX32 [tss_v86 + tss32.eax]
    PRINTLN
    PRINT "  CS="
    PHEX16 [tss_v86 + tss32.cs]
    PRINT " SS:ESP="
    PHEX16 [tss_v86 + tss32.ss]
    PRINT ":"
    PHEX32 [tss_v86 + tss32.esp]
    PRINT " DS="
    PHEX16 [tss_v86 + tss32.ds]
    PRINT " ES="
    PHEX16 [tss_v86 + tss32.es]
    PRINT " word at 0900:0000="
    PHEX16 [0x9000]
    PRINTLN
    pushfd                      ; NT off again before the runtime's own IRETs
    and dword [esp], ~(1 << 14)
    popfd
    ret

align 16
tss_v86: times 104 db 0

bits 16
v86_code:                       ; at 0800:0000
    mov ax, 0x1234
    mov word [0], 0xBEEF        ; DS = 0900: linear 0x9000
    push ax
    pop bx
    cli                         ; IOPL 3: the task's own IF
    int VEC_BACK
v86_code_end:
bits 32
GUEST_END
