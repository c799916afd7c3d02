; LMSW with a LOCK prefix is #UD, and that #UD comes before any VM exit. Under vtx the exit for
; LMSW was taken first and the instruction emulated, LOCK and all.
%include "prelude.inc"
  mov esp, 0x90000
  setgate 6, on_ud
  lidt [idtr]
  print 'L'
  mov ax, 0x0f                       ; PE MP EM TS
  db 0xf0                            ; LOCK
  lmsw ax
  finish 1
on_ud:
  print 'U'
  smsw ax
  test al, 0x0e                      ; MP EM TS still clear
  jnz .bad
  finish 2
.bad:
  finish 3
align 8
idtr: dw 0x7ff
      dd idt
align 8
idt: times 256 dq 0
