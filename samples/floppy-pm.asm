; floppy-pm.asm: a 1.44 MB floppy image that boots the classic way.
;
;   1. The BIOS loads the boot sector (sector 1) at 0000:7C00 in real mode, DL = drive.
;   2. The boot sector asks the BIOS for the drive geometry (INT 13h AH=08h) and reads
;      the rest of the loader, STAGE2_SECTORS sectors, one at a time with INT 13h AH=02h,
;      converting each sector number to cylinder/head/sector; the read crosses from
;      head 0 to head 1.
;   3. Stage 2 opens the A20 gate (keyboard controller command D1h, then port 0x92) and
;      checks it: 0000:0500 and FFFF:0510 are different bytes only when A20 is on.
;   4. It loads a GDT, sets CR0.PE and jumps to 32-bit code, builds a page directory
;      (identity map of the first 4 MiB, plus virtual 0xC0000000 -> the frame
;      at physical 0x00090000), sets CR0.PG and uses the high mapping.
;   5. It ends the run by writing 0 to port 0xF4 (exit status 1).
; Everything is printed on COM1.
;
;     nasm -f bin samples/floppy-pm.asm -o floppy-pm.img
;     ringside run floppy-pm.img
;     qemu-system-i386 -display none -serial stdio \
;         -device isa-debug-exit,iobase=0xf4,iosize=0x04 -drive file=floppy-pm.img,format=raw,if=floppy

bits 16
org 0x7C00

COM1            equ 0x3F8
STAGE2_SECTORS  equ 24          ; sectors 2..25: head 0 holds 2..18, head 1 the rest
SECTORS_PER_TRACK equ 18        ; a 1.44 MB floppy: 80 cylinders, 2 heads, 18 sectors
HEADS           equ 2

; ---------------------------------------------------------------- boot sector (sector 1)
boot:
    cli
    jmp 0x0000:.flat_cs
.flat_cs:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    cld
    mov [boot_drive], dl

    call serial_init
    mov si, msg_boot
    call print16

    ; INT 13h AH=08h: drive parameters. CH = last cylinder (low 8 bits), CL bits 5:0 =
    ; sectors per track, DH = last head.
    mov ah, 0x08
    mov dl, [boot_drive]
    xor di, di                      ; ES:DI = 0 guards against BIOS bugs
    int 0x13
    jc disk_error
    push cx
    xor ax, ax                      ; AH=08h points ES:DI at the BIOS's parameter table
    mov es, ax
    mov si, msg_geometry
    call print16
    mov al, ch                      ; cylinders = CH + 1 (a floppy has < 256)
    xor ah, ah
    inc ax
    call print_dec16
    mov si, msg_cylinders
    call print16
    mov al, dh
    xor ah, ah
    inc ax
    call print_dec16
    mov si, msg_heads
    call print16
    pop cx
    mov al, cl
    and ax, 0x3F
    call print_dec16
    mov si, msg_sectors
    call print16

    ; Read stage 2, one sector per call, to 0000:7E00 onwards.
    mov word [lba], 1               ; LBA 1 = the second sector
    mov bx, stage2
.read_next:
    call read_sector
    add bx, 512
    inc word [lba]
    cmp word [lba], STAGE2_SECTORS + 1
    jbe .read_next

    mov si, msg_loaded
    call print16
    jmp stage2

; read_sector: read LBA [lba] to ES:BX with INT 13h AH=02h, retrying three times.
;   sector   = LBA mod 18 + 1
;   head     = (LBA / 18) mod 2
;   cylinder = LBA / 36
read_sector:
    mov byte [retries], 3
.try:
    mov ax, [lba]
    xor dx, dx
    mov cx, SECTORS_PER_TRACK
    div cx                          ; ax = track, dx = sector - 1
    mov cl, dl
    inc cl                          ; CL = sector (1-based)
    xor dx, dx
    mov si, HEADS
    div si                          ; ax = cylinder, dx = head
    mov ch, al                      ; CH = cylinder
    mov dh, dl                      ; DH = head
    mov dl, [boot_drive]
    mov ax, 0x0201                  ; AH=02h read, AL=1 sector
    int 0x13
    jnc .ok
    dec byte [retries]
    jz disk_error
    xor ah, ah                      ; AH=00h: reset the drive, then retry
    mov dl, [boot_drive]
    int 0x13
    jmp .try
.ok:
    ret

disk_error:
    mov si, msg_disk_error
    call print16
    mov al, 1                       ; exit status (1 << 1) | 1 = 3
    out 0xF4, al
    hlt

; serial_init: COM1 at 115200 baud, 8N1, polled.
serial_init:
    mov dx, COM1 + 1
    xor al, al
    out dx, al                      ; IER: no interrupts
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                      ; LCR: DLAB on
    mov dx, COM1
    mov al, 1
    out dx, al                      ; divisor 1
    inc dx
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al                      ; LCR: 8N1, DLAB off
    ret

; putc16: send AL on COM1 after LSR bit 5 (transmitter empty) is set.
putc16:
    push dx
    push ax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop ax
    mov dx, COM1
    out dx, al
    pop dx
    ret

; print16: send the NUL-terminated string at DS:SI.
print16:
    push ax
.next:
    lodsb
    test al, al
    jz .done
    call putc16
    jmp .next
.done:
    pop ax
    ret

; print_dec16: send AX in decimal.
print_dec16:
    push ax
    push bx
    push cx
    push dx
    mov bx, 10
    xor cx, cx
.divide:
    xor dx, dx
    div bx
    push dx
    inc cx
    test ax, ax
    jnz .divide
.emit:
    pop ax
    add al, '0'
    call putc16
    loop .emit
    pop dx
    pop cx
    pop bx
    pop ax
    ret

boot_drive:     db 0
retries:        db 0
lba:            dw 0
msg_boot:       db "floppy-pm: boot sector running at 0000:7C00", 10, 0
msg_geometry:   db "int 13h ah=08h: ", 0
msg_cylinders:  db " cylinders, ", 0
msg_heads:      db " heads, ", 0
msg_sectors:    db " sectors per track", 10, 0
msg_loaded:     db "int 13h ah=02h: read 24 sectors of stage 2 (CHS 0/0/2 to 0/1/7)", 10, 0
msg_disk_error: db "disk read error", 10, 0

    times 510 - ($ - $$) db 0
    dw 0xAA55

; ---------------------------------------------------------------- stage 2 (sectors 2..25)
stage2:
    mov si, msg_stage2
    call print16

    ; A20 through the keyboard controller: command D1h (write output port), then the
    ; output port value DFh (A20 bit set). Wait for the input buffer to drain each time.
    call kbc_wait
    mov al, 0xD1
    out 0x64, al
    call kbc_wait
    mov al, 0xDF
    out 0x60, al
    call kbc_wait
    ; A20 through the "fast A20" port 0x92 (bit 1), keeping bit 0 (reset) clear.
    in al, 0x92
    or al, 0x02
    and al, 0xFE
    out 0x92, al

    ; Check: with A20 off, FFFF:0510 is physical 0x000500, the same byte as 0000:0500.
    push ds
    push es
    xor ax, ax
    mov ds, ax
    mov ax, 0xFFFF
    mov es, ax
    mov byte [ds:0x0500], 0x00
    mov byte [es:0x0510], 0xFF
    mov al, [ds:0x0500]
    pop es
    pop ds
    cmp al, 0x00
    jne .a20_failed
    mov si, msg_a20
    call print16
    jmp .protected
.a20_failed:
    mov si, msg_a20_failed
    call print16
    mov al, 1
    out 0xF4, al
    hlt

.protected:
    cli
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, 1                       ; CR0.PE
    mov cr0, eax
    jmp CODE_SEL:protected_mode     ; loads CS from the GDT: 32-bit code from here

; kbc_wait: wait until the keyboard controller's input buffer is empty (status bit 1).
kbc_wait:
    in al, 0x64
    test al, 0x02
    jnz kbc_wait
    ret

align 8
gdt:
    dq 0                            ; null descriptor
    dq 0x00CF9A000000FFFF           ; 0x08: code, base 0, limit 4 GiB, 32-bit, ring 0
    dq 0x00CF92000000FFFF           ; 0x10: data, base 0, limit 4 GiB, ring 0
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
CODE_SEL equ 0x08
DATA_SEL equ 0x10

msg_stage2:     db "stage 2: running at 0000:7E00", 10, 0
msg_a20:        db "a20: enabled (keyboard controller and port 0x92), wraparound test passed", 10, 0
msg_a20_failed: db "a20: still off", 10, 0

; ---------------------------------------------------------------- 32-bit protected mode
bits 32

PAGE_DIRECTORY equ 0x00010000       ; page structures in free conventional memory
PAGE_TABLE_LOW equ 0x00011000       ; maps 0..4 MiB
PAGE_TABLE_HIGH equ 0x00012000      ; maps 0xC0000000..0xC03FFFFF
HIGH_FRAME     equ 0x00090000       ; the frame behind virtual 0xC0000000
HIGH_VIRTUAL   equ 0xC0000000
PTE_PRESENT_WRITABLE equ 0x003

protected_mode:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x7C00
    mov esi, msg_pm
    call print32

    ; Page directory: entry 0 -> low table (identity 0..4 MiB), entry 768 -> high table.
    mov edi, PAGE_DIRECTORY
    mov ecx, 3 * 1024               ; clear the directory and both tables
    xor eax, eax
    rep stosd
    mov dword [PAGE_DIRECTORY + 0 * 4], PAGE_TABLE_LOW | PTE_PRESENT_WRITABLE
    mov dword [PAGE_DIRECTORY + (HIGH_VIRTUAL >> 22) * 4], PAGE_TABLE_HIGH | PTE_PRESENT_WRITABLE
    mov edi, PAGE_TABLE_LOW
    mov eax, PTE_PRESENT_WRITABLE
    mov ecx, 1024
.identity:
    stosd
    add eax, 0x1000
    loop .identity
    mov dword [PAGE_TABLE_HIGH], HIGH_FRAME | PTE_PRESENT_WRITABLE

    mov eax, PAGE_DIRECTORY
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000              ; CR0.PG
    mov cr0, eax
    mov esi, msg_paging
    call print32

    ; Write through the high mapping, read through the identity mapping.
    mov dword [HIGH_VIRTUAL + 0x10], 0x600DF00D
    mov eax, [HIGH_FRAME + 0x10]
    cmp eax, 0x600DF00D
    jne .mapping_failed
    mov esi, msg_mapping
    call print32
    mov esi, msg_bye
    call print32
    mov al, 0                       ; exit status (0 << 1) | 1 = 1
    out 0xF4, al
    hlt
.mapping_failed:
    mov esi, msg_mapping_failed
    call print32
    mov al, 1
    out 0xF4, al
    hlt

; print32: send the NUL-terminated string at ESI on COM1.
print32:
    push eax
    push edx
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    pop edx
    pop eax
    ret

msg_pm:      db "protected mode: CS=0008 (32-bit, flat), DS=SS=0010", 10, 0
msg_paging:  db "paging: on (identity map of 0-4 MiB, 0xC0000000 -> 0x00090000)", 10, 0
msg_mapping: db "paging: wrote 600DF00D at 0xC0000010, read it back at 0x00090010", 10, 0
msg_mapping_failed: db "paging: the high mapping does not reach 0x00090000", 10, 0
msg_bye:     db "floppy-pm: done, writing 0 to port 0xF4", 10, 0

; The loader reads sectors 2..25; stage 2 must fit in them.
%if ($ - stage2) > STAGE2_SECTORS * 512
  %error stage 2 is larger than STAGE2_SECTORS
%endif
    times (STAGE2_SECTORS + 1) * 512 - ($ - $$) db 0x90   ; fill the loaded sectors
    times 1474560 - ($ - $$) db 0                        ; the rest of a 1.44 MB floppy
