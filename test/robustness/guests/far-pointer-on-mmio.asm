; JMP FAR through a pointer on a page the guest maps to no RAM: the selector reads as 0xFFFF and
; the jump raises #GP. Shadow paging emulates the MMIO read, and retried the instruction for that
; #GP until it gave up (an exception escaped the hypervisor).
%include "prelude.inc"
  mov esp, 0x90000
  mov dword [pd + 4], 0xf0000087     ; 4-8 MiB -> 0xF0000000: nothing there
  pse_paging
  setgate 13, on_gp
  lidt [idtr]
  print 'F'
  jmp far [0x400000]
  finish 1
on_gp:
  print 'G'
  pop eax                            ; error code: the selector 0xFFFF without its RPL
  cmp eax, 0xfffc
  jne .bad
  finish 2
.bad:
  finish 3
align 8
idtr: dw 0x7ff
      dd idt
align 4096
pd: times 1024 dd 0
idt: times 256 dq 0
