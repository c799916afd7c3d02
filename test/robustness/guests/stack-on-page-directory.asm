; The stack at the top of the address space, where the page directory's self-map puts the page
; directory itself: the #UD frame overwrites the last directory entries. Under shadow paging the
; write to the guest's root table during the delivery could not be let through: the host hung.
%include "prelude.inc"
  mov esp, 0x90000
  mov dword [pd + 4092], pd + 3      ; self-map: 0xFFFFF000 is the directory
  pse_paging
  setgate 6, on_ud
  lidt [idtr]
  print 'S'
  xor esp, esp
  ud2
  finish 1
on_ud:
  mov esp, 0x90000
  print 'I'
  cmp dword [pd + 4092], pd + 3      ; the EFLAGS image landed on the self-map entry
  je .bad
  finish 2
.bad:
  finish 3
align 8
idtr: dw 0x7ff
      dd idt
align 4096
pd: times 1024 dd 0
idt: times 256 dq 0
