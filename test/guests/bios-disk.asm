; bios-disk: INT 13h on the boot floppy (80 cylinders, 2 heads, 18 sectors per track): reset,
; status, geometry, CHS reads/writes/verifies, parameter errors, the 64 KiB DMA limit, and what
; a floppy or an absent drive refuses (EDD is for hard disks: see bios-edd).
; Sectors at LBA 52-55 (cylinder 1, head 0, sectors 17-18, then head 1, sectors 1-2) hold a
; known pattern: word 0 is D000h + LBA, every other byte is the LBA. A sector prints as
; "WORD0/SUM" (SUM: the 16-bit sum of its bytes). Writes go to LBA 100-101 and are read back.
; image: floppy
%include "lib/boot16.inc"
%include "lib/disk16.inc"

DATA_LBA equ 52

main:
    mov ah, 0x00
    call disk                       ; DL = boot drive
    PRINT 'AH=00h reset: '
    call show_result
    mov ah, 0x01
    call disk
    PRINT 'AH=01h status: '
    call show_result

    ; Geometry and the diskette parameter table.
    xor di, di
    mov es, di
    mov bx, 0xFFFF                  ; BX is an output (BL = drive type, BH = 0)
    mov ah, 0x08
    call disk
    PRINT 'AH=08h: '
    call show_result
    PRINT '  BX='
    HEX bx, 4
    PRINT ' CX='
    HEX cx, 4
    PRINT ' DX='
    HEX dx, 4
    PRINT ' ES='
    mov ax, es
    HEX ax, 4
    PRINT ', table at ES:DI:'
    mov cx, 11
    call show_bytes
    PRINTLN
    xor ax, ax
    mov es, ax
    les di, [0x1E * 4]
    PRINT '  INT 1Eh vector -> segment '
    mov ax, es
    HEX ax, 4
    PRINT ', table:'
    mov cx, 11
    call show_bytes
    PRINTLN
    xor ax, ax
    mov es, ax

    ; CHS read of 4 sectors across the head boundary.
    call clear_buf
    push es
    mov ax, BUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0204
    mov cx, 0x0111                  ; cylinder 1, sector 17
    mov dh, 0                       ; head 0
    call disk
    pop es
    PRINT 'AH=02h 4 sectors from C1/H0/S17: '
    call show_result
    mov cx, 4
    call show_sectors

    ; CHS write of 2 sectors, read back into a cleared buffer.
    call make_pattern
    push es
    mov ax, WBUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0302
    mov cx, 0x020B                  ; cylinder 2, sector 11 (LBA 100)
    mov dh, 1
    call disk
    pop es
    PRINT 'AH=03h 2 sectors to C2/H1/S11: '
    call show_result
    call clear_buf
    push es
    mov ax, BUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0202
    mov cx, 0x020B
    mov dh, 1
    call disk
    pop es
    PRINT 'AH=02h reads them back: '
    call show_result
    mov cx, 1024
    call compare_buf

    ; Bad parameters: CF set and a status in AH, kept for AH=01h.
    PRINTLN 'errors:'
    mov si, bad_chs
.bad:
    mov cx, [si]
    mov dh, [si + 2]
    cmp dh, 0xFF
    je .bad_done
    push es
    mov ax, BUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0201
    call disk
    pop es
    PRINT '  AH=02h CX='
    HEX [si], 4
    PRINT ' DH='
    HEX [si + 2], 2
    PRINT ': '
    call show_result
    mov ah, 0x01
    call disk
    PRINT '  then AH=01h: '
    call show_result
    add si, 3
    jmp .bad
.bad_done:
    mov ah, 0x00
    call disk
    mov ah, 0x01
    call disk
    PRINT '  AH=01h after a reset: '
    call show_result

    ; A transfer into a buffer that crosses a 64 KiB boundary (the DMA limit): nothing read.
    push es
    mov ax, BUF
    mov es, ax
    mov bx, 0xFF00                  ; 1000:FF00 + 2 sectors crosses 20000h
    mov ax, 0x0202
    mov cx, 0x0111
    mov dh, 0
    call disk
    pop es
    PRINT '  AH=02h 2 sectors to 1000:FF00 (crosses 64 KiB): '
    call show_result
    mov ax, 0x0400                  ; AL=0: verify no sectors
    mov cx, 0x0001
    mov dh, 0
    call disk
    PRINT '  AH=04h verify 0 sectors: '
    call show_result
    mov ax, 0x0481                  ; 129 sectors: more than 128
    call disk
    PRINT '  AH=04h verify 129 sectors: '
    call show_result

    ; Verify, drive type, media change.
    mov ax, 0x0403
    mov cx, 0x0001
    mov dh, 1
    call disk
    PRINT 'AH=04h verify 3 sectors at C0/H1/S1: '
    call show_result
    mov ax, 0x1500
    call disk
    PRINT 'AH=15h: '
    call show_result
    mov ax, 0x1600
    call disk
    PRINT 'AH=16h: '
    call show_result

    ; What a floppy does not answer: the EDD functions, unknown functions.
    mov ah, 0x41
    mov bx, 0x55AA
    call disk
    PRINT 'AH=41h on a floppy: '
    call show_result
    PRINT '  BX='
    HEX bx, 4
    PRINTLN
    mov ah, 0x42
    mov si, dap
    call disk
    PRINT 'AH=42h on a floppy: '
    call show_result
    mov ah, 0x48
    mov si, params
    call disk
    PRINT 'AH=48h on a floppy: '
    call show_result
    mov ax, 0x1700
    call disk
    PRINT 'AH=17h on a floppy: '
    call show_result

    ; Drives that are not there: 01h (second floppy) and 80h (first hard disk).
    mov si, absent
.absent:
    lodsb
    cmp al, 0xFF
    je .absent_done
    mov [cs:.drive], al
    lodsb
    mov ah, al
    mov al, 0
    mov dl, [cs:.drive]
    mov bx, 0
    mov cx, 0x0001
    xor dh, dh
    int 0x13
    SAVE_FLAGS
    PRINT 'drive '
    HEX [cs:.drive], 2
    PRINT ' (absent) AH='
    HEX [si - 1], 2
    PRINT 'h: '
    call show_result
    jmp .absent
.drive: db 0
.absent_done:
    mov ah, 0x01
    call disk
    PRINT 'AH=01h on the boot floppy afterwards: '
    call show_result
    PRINTLN 'bios-disk: done'
    ret

; Absent drives and the function tried on each; FFh ends the list.
absent:
    db 0x01, 0x02, 0x01, 0x08, 0x01, 0x15, 0x01, 0x01
    db 0x80, 0x02, 0x80, 0x08, 0x80, 0x15, 0x80, 0x41
    db 0xFF

; Bad CHS triples: CX (cylinder/sector), DH (head); DH=FFh ends the list.
bad_chs:
    db 0x00, 0x00, 0                ; sector 0
    db 19, 0x00, 0                  ; sector 19 of 18
    db 0x01, 0x00, 2                ; head 2 of 2
    db 0x01, 80, 0                  ; cylinder 80 of 80
    dw 0
    db 0xFF

dap:    db 0x10, 0                  ; a valid packet: 1 sector of LBA 52 to BUF:0000
        dw 1, 0, BUF
        dq DATA_LBA
params: dw 26                       ; room for the EDD 1.x drive parameters
        times 24 db 0

GUEST_END
; The pattern sectors, at LBA 52-55.
    times DATA_LBA * 512 - ($ - $$) db 0
%assign lba DATA_LBA
%rep 4
    dw 0xD000 + lba
    times 510 db lba
%assign lba lba + 1
%endrep
IMAGE_END FLOPPY_BYTES
