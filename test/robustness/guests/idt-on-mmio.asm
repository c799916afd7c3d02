; The IDT is on a page the guest's tables map to no RAM: delivering #UD reads all-ones gates, the
; CPU shuts down. Shadow paging once retried that delivery forever (the host hung).
%include "prelude.inc"
  mov esp, 0x90000
  mov dword [pd + 4], 0xf0000087     ; 4-8 MiB -> 0xF0000000: nothing there
  pse_paging
  print 'P'
  lidt [idtr]
  ud2
  finish 1
align 8
idtr: dw 0x7ff
      dd 0x400000
align 4096
pd: times 1024 dd 0
