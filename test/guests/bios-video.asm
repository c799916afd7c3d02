; bios-video: INT 10h text services, checked by reading back the text buffer at B800:0000 and
; the cursor in the BIOS data area (0040:0050). Cells print as CC/AA (character/attribute).
; image: floppy
%include "lib/boot16.inc"

BDA_CURSOR equ 0x450

main:
    mov ax, 0x0003                  ; set mode 03h: 80x25 colour text, screen cleared
    int 0x10
    mov ah, 0x0F
    int 0x10
    PRINT 'mode: AH=0Fh AL='
    HEX al, 2
    PRINT ' AH='
    HEX ah, 2
    PRINT ' BH='
    HEX bh, 2
    PRINT '; BDA mode '
    HEX [0x449], 2
    PRINT ' columns '
    HEX [0x44A], 4
    PRINT ' last row '
    HEX [0x484], 2
    PRINT ' page '
    HEX [0x462], 2
    PRINTLN
    mov dx, 0x0000
    mov cx, 2
    call show_cells
    mov dx, 0x184E
    call show_cells
    call show_cursor

    ; Teletype: CR returns, LF goes down keeping the column, BS steps back without erasing.
    PRINTLN 'teletype "AB",CR,"C",LF,"D",BS,"E":'
    mov si, tty_text
    call teletype
    mov dx, 0x0000
    mov cx, 3
    call show_cells
    mov dx, 0x0100
    call show_cells
    call show_cursor
    PRINTLN 'teletype BS at column 0 stays there:'
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x0200
    int 0x10
    mov ax, 0x0E08
    int 0x10
    call show_cursor

    ; Set and get the cursor.
    PRINTLN 'set cursor (AH=02h) to row 5, column 10:'
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x050A
    int 0x10
    call show_cursor

    ; Write character and attribute (09h) and character only (0Ah); the cursor stays.
    PRINTLN 'AH=09h "Q" attribute 1Eh x3, then AH=0Ah "r" x2 at column 11:'
    mov ax, 0x0951
    mov bx, 0x001E
    mov cx, 3
    int 0x10
    mov dx, 0x0509
    mov cx, 5
    call show_cells
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x050B
    int 0x10
    mov ax, 0x0A72
    mov bx, 0x0070                  ; BL is ignored by 0Ah in text modes
    mov cx, 2
    int 0x10
    mov dx, 0x0509
    mov cx, 5
    call show_cells
    call show_cursor
    PRINTLN 'AH=08h at row 5, column 11 (the "r"):'
    mov ah, 0x08
    xor bh, bh
    int 0x10
    PRINT '  AX='
    HEX ax, 4
    PRINTLN

    PRINTLN 'AH=09h x4 from row 6, column 78 runs on into row 7:'
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x064E
    int 0x10
    mov ax, 0x0957
    mov bx, 0x0024
    mov cx, 4
    int 0x10
    mov dx, 0x064E
    mov cx, 2
    call show_cells
    mov dx, 0x0700
    mov cx, 3
    call show_cells
    call show_cursor

    ; Scroll a window (rows 10-12, columns 0-2) up and down; column 3 and row 13 are outside it.
    call fill_rows
    PRINTLN 'AH=06h up 1 line, rows 10-12, columns 0-2, attribute 47h:'
    mov ax, 0x0601
    mov bh, 0x47
    mov cx, 0x0A00
    mov dx, 0x0C02
    int 0x10
    call show_window
    PRINTLN 'AH=07h down 1 line, same window, attribute 1Fh:'
    mov ax, 0x0701
    mov bh, 0x1F
    mov cx, 0x0A00
    mov dx, 0x0C02
    int 0x10
    call show_window
    call fill_rows
    PRINTLN 'AH=06h up 2 lines:'
    mov ax, 0x0602
    mov bh, 0x07
    mov cx, 0x0A00
    mov dx, 0x0C02
    int 0x10
    call show_window
    PRINTLN 'AH=07h with AL=0 clears the window, attribute 70h:'
    mov ax, 0x0700
    mov bh, 0x70
    mov cx, 0x0A00
    mov dx, 0x0C02
    int 0x10
    call show_window

    ; Teletype at the bottom right: the screen scrolls up one line.
    PRINTLN 'teletype "XYZ" from row 24, column 78 (marker "M" on row 1):'
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x0100
    int 0x10
    mov ax, 0x094D
    mov bx, 0x0007
    mov cx, 1
    int 0x10
    mov ah, 0x02
    mov dx, 0x1800
    int 0x10
    mov ax, 0x0920                  ; the last row in attribute 5Ah before the scroll
    mov bx, 0x005A
    mov cx, 80
    int 0x10
    mov ah, 0x02
    mov dx, 0x184E
    int 0x10
    mov si, xyz_text
    call teletype
    mov dx, 0x0000
    mov cx, 1
    call show_cells
    mov dx, 0x174E
    mov cx, 2
    call show_cells
    mov dx, 0x1800
    mov cx, 2
    call show_cells
    call show_cursor
    PRINTLN 'teletype LF on the last row scrolls and keeps the column:'
    mov ax, 0x0E0A
    int 0x10
    mov dx, 0x1700
    mov cx, 1
    call show_cells
    call show_cursor

    PRINTLN 'set mode 03h again clears the screen and homes the cursor:'
    mov ax, 0x0003
    int 0x10
    mov dx, 0x0000
    mov cx, 1
    call show_cells
    mov dx, 0x1700
    call show_cells
    call show_cursor
    PRINTLN 'bios-video: done'
    ret

tty_text: db 'AB', 13, 'C', 10, 'D', 8, 'E', 0
xyz_text: db 'XYZ', 0

; teletype: INT 10h AH=0Eh for each byte of the string at DS:SI.
teletype:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0E
    mov bx, 0x0007
    int 0x10
    jmp teletype
.done:
    ret

; show_cells: print "  row RR col CC: cc/aa ..." for CX cells from row DH, column DL.
show_cells:
    pusha
    push es
    PRINT '  row '
    HEX dh, 2
    PRINT ' col '
    HEX dl, 2
    PRINT ':'
    mov ax, 0xB800
    mov es, ax
    mov al, 80
    mul dh
    xor dh, dh
    add ax, dx
    shl ax, 1
    mov di, ax
.cell:
    PRINT ' '
    HEX [es:di], 2
    PRINT '/'
    HEX [es:di + 1], 2
    add di, 2
    loop .cell
    PRINTLN
    pop es
    popa
    ret

; show_cursor: AH=03h's row/column and shape, and the BDA's copy.
show_cursor:
    pusha
    mov ah, 0x03
    xor bh, bh
    int 0x10
    PRINT '  cursor: AH=03h DX='
    HEX dx, 4
    PRINT ' CX='
    HEX cx, 4
    PRINT ', BDA row '
    HEX [BDA_CURSOR + 1], 2
    PRINT ' col '
    HEX [BDA_CURSOR], 2
    PRINTLN
    popa
    ret

; fill_rows: rows 10-13, columns 0-3 get "a".."d" (one letter per row) in attribute 07h.
fill_rows:
    pusha
    mov dx, 0x0A00
    mov al, 'a'
.row:
    mov ah, 0x02
    xor bh, bh
    int 0x10
    push ax
    mov ah, 0x09
    mov bl, 0x07
    mov cx, 4
    int 0x10
    pop ax
    inc al
    inc dh
    cmp dh, 14
    jb .row
    popa
    ret

show_window:
    pusha
    mov dx, 0x0A00
    mov cx, 4
.row:
    call show_cells
    inc dh
    cmp dh, 14
    jb .row
    popa
    ret

GUEST_END
IMAGE_END FLOPPY_BYTES
