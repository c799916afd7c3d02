; The A20 gate closed while paging is on: every physical address loses bit 20, the page-table
; reads too. The directory at `pd` (bit 20 set) is then read at pd - 1 MiB, whose entry 0 maps
; 0-4 MiB to 8 MiB: the code at 1 MiB + x goes on from the copy at 8 MiB + x, which prints 'L'
; where the original prints 'H'. Shadow paging walked the guest's tables without the gate.
%include "prelude.inc"
  mov esp, 0x90000
  mov dword [pd - 0x100000], 0x800087
  mov dword [pd + 8], 0x800087       ; 8-12 MiB identity, for the copy
  pse_paging
  mov esi, 0x100000                  ; the program copied to 8 MiB, its 'H' made 'L'
  mov edi, 0x800000
  mov ecx, tail_end - 0x100000
  rep movsb
  mov byte [tail - 0x100000 + 0x800000 + 1], 'L'
  in al, 0x92
  and al, 0xfd                       ; A20 off
  out 0x92, al
  jmp tail
tail:
  mov al, 'H'
  out 0xe9, al
  finish 2
tail_end:
align 4096
pd: times 1024 dd 0
