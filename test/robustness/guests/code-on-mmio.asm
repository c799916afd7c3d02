; Code fetched from a page the guest maps to no RAM (all-ones bytes: FF FF is #UD). Shadow paging
; once retried that fetch forever.
%include "prelude.inc"
  mov esp, 0x90000
  mov dword [pd + 4], 0xf0000087
  pse_paging
  setgate 6, on_ud
  lidt [idtr]
  print 'J'
  jmp 0x400000
  finish 1
on_ud:
  print 'U'
  finish 2
align 8
idtr: dw 0x7ff
      dd idt
align 4096
pd: times 1024 dd 0
idt: times 256 dq 0
