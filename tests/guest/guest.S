/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/guest/guest.S — the migsim lab guest: a 512-byte boot sector that
 * switches to 32-bit protected mode and writes one byte per 4 KiB page over
 * a working set starting at 1 MiB, forever, at a known pace.
 *
 * Built as a flat binary linked at 0x7c00 (the BIOS loads it there).
 * `migsim lab` patches the parameter block below into a copy of the image;
 * the layout is a contract with live/lab.c (LAB_GUEST_* in live/lab.h):
 *
 *   offset 0x1f0  char[4]  magic "MGS1"
 *   offset 0x1f4  u32 LE   working-set pages (4 KiB each, from 0x100000);
 *                          0 = idle guest (halts)
 *   offset 0x1f8  u32 LE   pause between two page writes:
 *                            mode 0: busy-loop count (speed depends on TCG)
 *                            mode 1: ACPI PM-timer ticks x 16 (the PM timer
 *                                    runs at 3 579 545 Hz on virtual time)
 *   offset 0x1fc  u16 LE   mode (0 or 1)
 *   offset 0x1fe  0x55 0xaa boot signature
 *
 * What the guest does:
 *   1. fast A20 on, flat 4 GiB code/data segments, protected mode, no
 *      interrupts (cli; no IDT is ever loaded);
 *   2. one unpaced pass writing every working-set page, so the whole set
 *      holds non-zero data before migration starts;
 *   3. paced passes for ever: write (pass number | 1) into the first byte of
 *      each page, wait the pause, next page; wrap at the end of the set.
 * After every page write it increments the u32 at physical 0x500 (pages
 * written since boot); the lab reads it with pmemsave to see that the guest
 * runs and how fast, on the source and, after switchover, the destination.
 * The u32 at 0x504 becomes "RDY1" once the prefill is done (or the idle
 * guest halts): the guest is ready to be migrated.
 */
        .set GDT_CODE, 0x08
        .set GDT_DATA, 0x10
        .set WS_BASE, 0x100000
        .set COUNTER, 0x500
        .set READY, 0x504
        .set READY_MAGIC, 0x31594452    /* "RDY1" little-endian */
        .set PCI_ADDR, 0xcf8
        .set PCI_DATA, 0xcfc
        /* PIIX4 PM function 00:01.3, registers 0x40 (PMBASE), 0x80 (misc) */
        .set PIIX4_PMBASE_REG, 0x80000b40
        .set PIIX4_PMMISC_REG, 0x80000b80

        .code16
        .text
        .globl _start
_start:
        cli
        cld
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x7c00, %sp
        ljmp    $0, $real_cs0           /* normalise CS:IP to 0:7cxx */
real_cs0:
        inb     $0x92, %al              /* fast A20 gate */
        orb     $0x02, %al
        andb    $0xfe, %al
        outb    %al, $0x92
        lgdtl   gdt_desc
        movl    %cr0, %eax
        orl     $1, %eax
        movl    %eax, %cr0
        ljmpl   $GDT_CODE, $pm32

        .code32
pm32:
        movw    $GDT_DATA, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    %ax, %fs
        movw    %ax, %gs
        movl    $0x7c00, %esp
        movl    $0, COUNTER
        movl    $0, READY

        /* PM timer port = PMBASE + 8; if the firmware left PMBASE unset,
         * use 0x600.  Make sure the PM I/O space is enabled. */
        movl    $PIIX4_PMBASE_REG, %eax
        movw    $PCI_ADDR, %dx
        outl    %eax, %dx
        movw    $PCI_DATA, %dx
        inl     %dx, %eax
        andl    $0xffc0, %eax
        jnz     1f
        movl    $0x601, %eax
        outl    %eax, %dx
        movl    $0x600, %eax
1:      addl    $8, %eax
        movl    %eax, pm_port
        movl    $PIIX4_PMMISC_REG, %eax
        movw    $PCI_ADDR, %dx
        outl    %eax, %dx
        movw    $PCI_DATA, %dx
        inl     %dx, %eax
        orl     $1, %eax
        outl    %eax, %dx

        movl    p_pages, %ecx
        testl   %ecx, %ecx
        jz      ready_idle

        /* Prefill: every page once, unpaced. */
        movl    $WS_BASE, %edi
        movb    $1, %bl
2:      movb    %bl, (%edi)
        incl    COUNTER
        addl    $4096, %edi
        loop    2b
        movl    $READY_MAGIC, READY

        movl    pm_port, %edx
        inl     %dx, %eax
        andl    $0xffffff, %eax
        movl    %eax, last_tick
        xorl    %ebp, %ebp              /* pace credit, ticks x 16 */

pass:
        addb    $2, %bl                 /* odd: never a zero page */
        movl    $WS_BASE, %edi
        xorl    %esi, %esi              /* page index */
page:
        movb    %bl, (%edi)
        incl    COUNTER
        addl    $4096, %edi
        incl    %esi
        call    pause
        cmpl    p_pages, %esi
        jb      page
        jmp     pass

ready_idle:
        movl    $READY_MAGIC, READY
idle:
        hlt
        jmp     idle

/* Wait one pause.  Mode 0: count down.  Mode 1: accumulate PM-timer ticks
 * (24-bit counter, x16) into %ebp until they cover the pause; a guest that
 * falls behind may catch up by at most 16 pauses.  Clobbers eax, ecx, edx. */
pause:
        cmpw    $1, p_mode
        je      3f
        movl    p_pause, %ecx
        jecxz   5f
4:      decl    %ecx
        jnz     4b
5:      ret
3:      movl    pm_port, %edx
        inl     %dx, %eax
        andl    $0xffffff, %eax
        movl    %eax, %ecx
        subl    last_tick, %eax
        movl    %ecx, last_tick
        andl    $0xffffff, %eax
        shll    $4, %eax
        addl    %eax, %ebp
        cmpl    p_pause, %ebp
        jb      3b
        subl    p_pause, %ebp
        movl    p_pause, %eax
        shll    $4, %eax
        cmpl    %eax, %ebp
        jbe     6f
        movl    %eax, %ebp
6:      ret

        .p2align 3
gdt:
        .quad   0
        .quad   0x00cf9a000000ffff      /* 0x08: code, base 0, 4 GiB */
        .quad   0x00cf92000000ffff      /* 0x10: data, base 0, 4 GiB */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   gdt
pm_port:
        .long   0
last_tick:
        .long   0

        .org    0x1f0
p_magic:
        .ascii  "MGS1"
p_pages:
        .long   16384                   /* 64 MiB */
p_pause:
        .long   55930                   /* mode 1: 4 MiB/s */
p_mode:
        .word   1
        .byte   0x55, 0xaa
