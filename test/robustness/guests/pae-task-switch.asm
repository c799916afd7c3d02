; A task switch under PAE paging reloads CR3 and the PDPTEs from the new TSS. Under shadow paging
; the processor read the PDPTEs at the guest's CR3 as a host address (zeros) and the guest
; triple-faulted.
%include "prelude.inc"
  mov esp, 0x90000
  setbase gdt + 0x28, tss_a
  setbase gdt + 0x30, tss_b
  lgdt [gdtr]
  jmp 0x08:.cs
.cs:
  mov dword [pdpt], pae_pd + 1
  mov dword [pae_pd], 0x83
  mov dword [pae_pd + 8], 0x200083
  mov eax, cr4
  or eax, 0x20
  mov cr4, eax
  mov eax, pdpt
  mov cr3, eax
  mov [tss_b + 0x1c], eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov ax, 0x28
  ltr ax
  print 'A'
  jmp 0x30:0
  finish 1
task_b:
  print 'B'
  mov eax, cr3
  cmp eax, pdpt
  jne .bad
  finish 2
.bad:
  finish 3
align 8
gdtr: dw gdt_end - gdt - 1
      dd gdt
gdt: dq 0
  dq 0x00cf9a000000ffff, 0x00cf92000000ffff, 0, 0
  dq 0x0000890000000067, 0x0000890000000067    ; 0x28 TSS A, 0x30 TSS B
gdt_end:
align 32
pdpt: times 4 dq 0
align 128
tss_a: times 0x68 db 0
tss_b: dd 0, 0, 0, 0, 0, 0, 0, 0      ; link, esp0..ss2, cr3 (patched)
  dd task_b, 2, 0, 0, 0, 0, 0x80000, 0, 0, 0   ; eip, eflags, eax..edi
  dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10, 0, 0  ; es cs ss ds fs gs, ldt, trap/iomap
align 4096
pae_pd: times 512 dq 0
