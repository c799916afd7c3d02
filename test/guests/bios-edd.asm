; bios-edd: INT 13h on a 2 MiB hard disk image (drive 80h; 4096 sectors, geometry 4/16/63):
; CHS geometry and size, the EDD extensions (installation check, drive parameters, reads and
; writes through a disk address packet), and their errors. Sectors at LBA 200-203 hold a known
; pattern (word 0 = D000h + LBA, the other bytes = LBA mod 256), printed as "WORD0/SUM".
; image: disk
%include "lib/boot16.inc"
%include "lib/disk16.inc"

DATA_LBA equ 200                    ; C0/H3/S12: 200 = 3 * 63 + 11
DISK_SECTORS equ 4096

main:
    PRINT 'boot drive '
    HEX [boot_drive], 2
    PRINT ', BDA hard disk count '
    HEX [0x475], 2
    PRINTLN
    mov ah, 0x00
    call disk
    PRINT 'AH=00h reset: '
    call show_result

    ; Geometry: the last cylinder is kept back, so CX says cylinder 2 of 0-3 (and 15h 3 x 1008).
    mov bx, 0x1234                  ; BX and ES:DI are floppy results: a disk leaves them alone
    mov di, 0x5678
    mov ah, 0x08
    call disk
    PRINT 'AH=08h: '
    call show_result
    PRINT '  CX='
    HEX cx, 4
    PRINT ' DX='
    HEX dx, 4
    PRINT ' BX='
    HEX bx, 4
    PRINT ' DI='
    HEX di, 4
    PRINTLN
    mov ah, 0x15
    call disk
    PRINT 'AH=15h: '
    call show_result
    PRINT '  CX:DX='
    HEX cx, 4
    HEX dx, 4
    PRINTLN

    ; CHS reads: the pattern through AH=02h, the hidden last cylinder, one past it.
    call clear_buf
    push es
    mov ax, BUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0204
    mov cx, 0x000C                  ; cylinder 0, sector 12
    mov dh, 3
    call disk
    pop es
    PRINT 'AH=02h 4 sectors from C0/H3/S12: '
    call show_result
    mov cx, 4
    call show_sectors
    push es
    mov ax, BUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0201
    mov cx, 0x033F                  ; cylinder 3, sector 63
    mov dh, 15
    call disk
    pop es
    PRINT 'AH=02h C3/H15/S63 (the last cylinder): '
    call show_result
    push es
    mov ax, BUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0201
    mov cx, 0x0401                  ; cylinder 4
    mov dh, 0
    call disk
    pop es
    PRINT 'AH=02h C4/H0/S1 (past the geometry): '
    call show_result
    mov ah, 0x01
    call disk
    PRINT '  then AH=01h: '
    call show_result

    ; EDD installation check and drive parameters.
    mov ah, 0x41
    mov bx, 0x55AA
    call disk
    PRINT 'AH=41h: '
    call show_result
    PRINT '  BX='
    HEX bx, 4
    PRINT ' CX='
    HEX cx, 4
    PRINTLN
    mov word [params], 26
    mov ah, 0x48
    mov si, params
    call disk
    PRINT 'AH=48h (26-byte buffer): '
    call show_result
    PRINT '  size '
    HEX [params], 4
    PRINT ' flags '
    HEX [params + 2], 4
    PRINT ' C/H/S '
    DEC dword [params + 4]
    PRINT '/'
    DEC dword [params + 8]
    PRINT '/'
    DEC dword [params + 12]
    PRINT ' sectors '
    DEC dword [params + 16]
    PRINT ':'
    DEC dword [params + 20]
    PRINT ' bytes/sector '
    HEX [params + 24], 4
    PRINTLN
    mov word [params], 24
    mov ah, 0x48
    mov si, params
    call disk
    PRINT 'AH=48h (24-byte buffer, too small): '
    call show_result

    ; Reads and writes through the address packet.
    call clear_buf
    mov word [dap.count], 4
    mov dword [dap.lba], DATA_LBA
    mov ah, 0x42
    call disk_dap
    PRINT 'AH=42h 4 sectors from LBA 200: '
    call show_result
    call show_dap_count
    mov cx, 4
    call show_sectors

    call make_pattern
    mov word [dap.count], 2
    mov word [dap.seg], WBUF
    mov dword [dap.lba], 4090       ; beyond what CHS reaches (4 x 16 x 63 = 4032)
    mov ax, 0x4300                  ; AL=0: write without verify
    call disk_dap
    PRINT 'AH=43h 2 sectors to LBA 4090: '
    call show_result
    call show_dap_count
    call clear_buf
    mov word [dap.seg], BUF
    mov ah, 0x42
    call disk_dap
    PRINT 'AH=42h reads them back: '
    call show_result
    mov cx, 1024
    call compare_buf

    mov ah, 0x44
    call disk_dap
    PRINT 'AH=44h verify them: '
    call show_result
    call show_dap_count
    mov word [dap.count], 0
    mov ah, 0x42
    call disk_dap
    PRINT 'AH=42h 0 sectors: '
    call show_result
    call show_dap_count
    mov word [dap.count], 1
    mov dword [dap.lba], DISK_SECTORS
    mov ah, 0x42
    call disk_dap
    PRINT 'AH=42h at LBA 4096 (past the end): '
    call show_result
    call show_dap_count
    mov ah, 0x01
    call disk
    PRINT '  then AH=01h: '
    call show_result
    mov dword [dap.lba], DISK_SECTORS - 1
    mov ah, 0x47
    call disk_dap
    PRINT 'AH=47h seek to LBA 4095: '
    call show_result

    ; The removable-media functions on a fixed disk; a floppy function.
    mov ax, 0x4500
    call disk
    PRINT 'AH=45h lock: '
    call show_result
    mov ax, 0x4600
    call disk
    PRINT 'AH=46h eject: '
    call show_result
    mov ax, 0x4900
    call disk
    PRINT 'AH=49h media changed: '
    call show_result
    mov ax, 0x1600
    call disk
    PRINT 'AH=16h: '
    call show_result
    PRINTLN 'bios-edd: done'
    ret

disk_dap:
    mov si, dap
    jmp disk

show_dap_count:
    PRINT '  DAP count now '
    HEX [dap.count], 4
    PRINTLN
    ret

dap:    db 0x10, 0
.count: dw 0
.off:   dw 0
.seg:   dw BUF
.lba:   dq 0
params: times 26 db 0

GUEST_END
; The pattern sectors.
    times DATA_LBA * 512 - ($ - $$) db 0
%assign lba DATA_LBA
%rep 4
    dw 0xD000 + lba
    times 510 db lba & 0xFF
%assign lba lba + 1
%endrep
IMAGE_END DISK_SECTORS * 512
