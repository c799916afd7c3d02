; A double fault through a task gate, the new task's stack on a page not touched before. Under
; shadow paging the error-code push after the committed switch faulted (the shadow filling the
; page) and the whole delivery ran again: a second switch into the now busy TSS, a triple fault.
%include "prelude.inc"
  mov esp, 0x90000
  setbase gdt + 0x28, tss_a
  setbase gdt + 0x30, tss_b
  lgdt [gdtr]
  jmp 0x08:.cs
.cs:
  pse_paging
  mov eax, cr3
  mov [tss_b + 0x1c], eax
  mov ax, 0x28
  ltr ax
  mov word [idt + 8 * 8 + 2], 0x30   ; #DF: task gate to TSS B (vector 0 stays absent)
  mov word [idt + 8 * 8 + 4], 0x8500
  lidt [idtr]
  print 'A'
  xor ecx, ecx
  div ecx                            ; #DE -> #NP (absent gate) -> #DF
  finish 1
task_b:
  print 'D'
  pop eax                            ; the #DF error code (0)
  test eax, eax
  jnz .bad
  finish 2
.bad:
  finish 3
align 8
gdtr: dw gdt_end - gdt - 1
      dd gdt
idtr: dw 0x7ff
      dd idt
gdt: dq 0
  dq 0x00cf9a000000ffff, 0x00cf92000000ffff, 0, 0
  dq 0x0000890000000067, 0x0000890000000067
gdt_end:
align 128
tss_a: times 0x68 db 0
tss_b: dd 0, 0, 0, 0, 0, 0, 0, 0
  dd task_b, 2, 0, 0, 0, 0, 0x300ffc, 0, 0, 0  ; esp on a page nothing touched yet
  dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10, 0, 0
align 4096
pd: times 1024 dd 0
idt: times 256 dq 0
