/* Native side of the differential generator: runs test snippets on the host CPU.
 *
 *   harness info             prints the process's selectors and mappings as JSON
 *   harness run IN OUT       runs every case record of IN, writes one result record each to OUT
 *
 * Built with gcc -m32 -no-pie and linked with trampoline.asm. All memory a snippet may touch
 * is mapped at fixed addresses so that the same case replays exactly on the emulator. Faults
 * arrive as signals; the handler copies the interrupted state out of the ucontext (which also
 * carries the exception vector, the error code and CR2) and jumps back with siglongjmp. */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>

#define LOW_ADDR    0x00008000u   /* reachable with 16-bit addressing (67h prefix) */
#define DATA_ADDR   0x00100000u
#define STACK_LO    0x00170000u
#define STACK_HI    0x00180000u
#define STACK_TOP   0x0017F000u   /* default ESP */
#define CODE_ADDR   0x00200000u
#define RET_ADDR    0x00300000u
#define PAGE        0x1000u
#define WIN         128u          /* bytes in each recorded memory window */
#define STACK_WIN   (STACK_TOP - WIN / 2)
#define CODE_MAX    208u

/* Input record: one case. */
struct in_case {
    uint32_t code_len;
    uint32_t regs[8];            /* eax ecx edx ebx esp ebp esi edi */
    uint32_t eflags;
    uint32_t data_addr;          /* DATA_ADDR or LOW_ADDR */
    uint32_t reserved;
    uint8_t data[WIN];
    uint8_t stack[WIN];
    uint8_t code[CODE_MAX];
};

/* Output record: one result. */
struct out_case {
    uint32_t status;             /* 0 returned, 1 fault, 2 timeout */
    uint32_t vector, err, cr2;
    uint32_t regs[8];
    uint32_t eflags;
    uint32_t eip;
    uint16_t segs[6];            /* es cs ss ds fs gs */
    uint32_t signo;
    uint32_t pad[2];
    uint8_t data[WIN];
    uint8_t stack[WIN];
};

_Static_assert(sizeof(struct in_case) == 512, "in_case layout");
_Static_assert(sizeof(struct out_case) == 336, "out_case layout");

extern uint32_t dg_in[9], dg_in_esp, dg_code_ptr, dg_out[9];
extern uint16_t dg_out_segs[6];
extern void dg_enter(void), dg_return(void), dg_fix_segs(void);

static sigjmp_buf resume;
static struct out_case *cur;
static int low_ok;

static void *map_fixed(uint32_t addr, uint32_t len, int prot) {
    void *p = mmap((void *)(uintptr_t)addr, len, prot,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || (uint32_t)(uintptr_t)p != addr) return NULL;
    return p;
}

static void on_signal(int sig, siginfo_t *si, void *ctx) {
    (void)si;
    dg_fix_segs();
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    if (sig == SIGALRM) {
        cur->status = 2;
    } else {
        cur->status = 1;
        cur->vector = (uint32_t)g[REG_TRAPNO];
        cur->err = (uint32_t)g[REG_ERR];
        cur->cr2 = (uint32_t)uc->uc_mcontext.cr2;
    }
    cur->signo = (uint32_t)sig;
    cur->regs[0] = g[REG_EAX]; cur->regs[1] = g[REG_ECX];
    cur->regs[2] = g[REG_EDX]; cur->regs[3] = g[REG_EBX];
    cur->regs[4] = g[REG_UESP]; cur->regs[5] = g[REG_EBP];
    cur->regs[6] = g[REG_ESI]; cur->regs[7] = g[REG_EDI];
    cur->eflags = (uint32_t)g[REG_EFL];
    cur->eip = (uint32_t)g[REG_EIP];
    cur->segs[0] = g[REG_ES]; cur->segs[1] = g[REG_CS]; cur->segs[2] = g[REG_SS];
    cur->segs[3] = g[REG_DS]; cur->segs[4] = g[REG_FS]; cur->segs[5] = g[REG_GS];
    siglongjmp(resume, 1);
}

static int setup(void) {
    static char altstack[256 * 1024];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL)) { perror("sigaltstack"); return -1; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP, SIGALRM };
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL)) { perror("sigaction"); return -1; }

    low_ok = map_fixed(LOW_ADDR, PAGE, PROT_READ | PROT_WRITE) != NULL;
    if (!map_fixed(DATA_ADDR, PAGE, PROT_READ | PROT_WRITE) ||
        !map_fixed(STACK_LO, STACK_HI - STACK_LO, PROT_READ | PROT_WRITE) ||
        !map_fixed(CODE_ADDR, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC)) {
        fprintf(stderr, "harness: cannot map the fixed test pages\n");
        return -1;
    }
    uint8_t *ret = map_fixed(RET_ADDR, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
    if (!ret) { fprintf(stderr, "harness: cannot map the return page\n"); return -1; }
    /* jmp rel32 to dg_return: leaves registers and flags untouched */
    ret[0] = 0xE9;
    uint32_t rel = (uint32_t)(uintptr_t)dg_return - (RET_ADDR + 5);
    memcpy(ret + 1, &rel, 4);
    dg_code_ptr = CODE_ADDR;
    return 0;
}

static void run_one(const struct in_case *in, struct out_case *out) {
    memset(out, 0, sizeof *out);
    cur = out;
    memset((void *)(uintptr_t)DATA_ADDR, 0, PAGE);
    if (low_ok) memset((void *)(uintptr_t)LOW_ADDR, 0, PAGE);
    memset((void *)(uintptr_t)(STACK_TOP - 2 * PAGE), 0, 3 * PAGE);
    memcpy((void *)(uintptr_t)in->data_addr, in->data, WIN);
    memcpy((void *)(uintptr_t)STACK_WIN, in->stack, WIN);

    uint8_t *code = (uint8_t *)(uintptr_t)CODE_ADDR;
    memset(code, 0, PAGE);
    memcpy(code, in->code, in->code_len);
    uint32_t end = CODE_ADDR + in->code_len;
    code[in->code_len] = 0xE9;
    uint32_t rel = RET_ADDR - (end + 5);
    memcpy(code + in->code_len + 1, &rel, 4);

    /* POPAD order: edi esi ebp (esp) ebx edx ecx eax, then EFLAGS */
    const uint32_t *r = in->regs;
    dg_in[0] = r[7]; dg_in[1] = r[6]; dg_in[2] = r[5]; dg_in[3] = r[4];
    dg_in[4] = r[3]; dg_in[5] = r[2]; dg_in[6] = r[1]; dg_in[7] = r[0];
    dg_in[8] = in->eflags;
    dg_in_esp = r[4];

    struct itimerval arm = { { 0, 0 }, { 1, 0 } }, disarm = { { 0, 0 }, { 0, 0 } };
    if (sigsetjmp(resume, 1) == 0) {
        setitimer(ITIMER_REAL, &arm, NULL);
        dg_enter();
        setitimer(ITIMER_REAL, &disarm, NULL);
        out->status = 0;
        /* PUSHAD order in memory: edi esi ebp esp ebx edx ecx eax, then EFLAGS */
        out->regs[0] = dg_out[7]; out->regs[1] = dg_out[6];
        out->regs[2] = dg_out[5]; out->regs[3] = dg_out[4];
        out->regs[4] = 0;        /* filled below from dg_out_esp */
        out->regs[5] = dg_out[2]; out->regs[6] = dg_out[1]; out->regs[7] = dg_out[0];
        out->eflags = dg_out[8];
        extern uint32_t dg_out_esp;
        out->regs[4] = dg_out_esp;
        out->eip = end;
        memcpy(out->segs, dg_out_segs, sizeof out->segs);
    } else {
        setitimer(ITIMER_REAL, &disarm, NULL);
    }
    memcpy(out->data, (void *)(uintptr_t)in->data_addr, WIN);
    memcpy(out->stack, (void *)(uintptr_t)STACK_WIN, WIN);
}

static void selector_info(uint16_t sel, int last) {
    uint32_t ar = 0, lim = 0, zl = 0, za = 0, zr = 0, zw = 0;
    __asm__ volatile("lar %2, %0; setz %b1" : "=r"(ar), "=q"(za) : "r"((uint32_t)sel) : "cc");
    __asm__ volatile("lsl %2, %0; setz %b1" : "=r"(lim), "=q"(zl) : "r"((uint32_t)sel) : "cc");
    __asm__ volatile("verr %w1; setz %b0" : "=q"(zr) : "r"(sel) : "cc");
    __asm__ volatile("verw %w1; setz %b0" : "=q"(zw) : "r"(sel) : "cc");
    printf("    \"0x%x\": {\"lar\": %s%u, \"lsl\": %s%u, \"verr\": %u, \"verw\": %u}%s\n", sel,
           "", (za & 1) ? ar : 0xffffffffu, "", (zl & 1) ? lim : 0xffffffffu,
           zr & 1, zw & 1, last ? "" : ",");
}

static int info(void) {
    uint16_t cs, ds, es, ss, fs, gs;
    __asm__("mov %%cs, %0" : "=r"(cs)); __asm__("mov %%ds, %0" : "=r"(ds));
    __asm__("mov %%es, %0" : "=r"(es)); __asm__("mov %%ss, %0" : "=r"(ss));
    __asm__("mov %%fs, %0" : "=r"(fs)); __asm__("mov %%gs, %0" : "=r"(gs));
    printf("{\n  \"segments\": {\"cs\": %u, \"ds\": %u, \"es\": %u, \"ss\": %u, \"fs\": %u, \"gs\": %u},\n",
           cs, ds, es, ss, fs, gs);
    printf("  \"lowPage\": %s,\n", low_ok ? "true" : "false");
    printf("  \"selectors\": {\n");
    static const uint16_t sels[] = { 0x23, 0x2b, 0x63 };
    for (unsigned i = 0; i < 3; i++) selector_info(sels[i], i == 2);
    printf("  }\n}\n");
    return 0;
}

int main(int argc, char **argv) {
    if (setup()) return 2;
    if (argc == 2 && !strcmp(argv[1], "info")) return info();
    if (argc != 4 || strcmp(argv[1], "run")) {
        fprintf(stderr, "usage: harness info | harness run IN OUT\n");
        return 2;
    }
    FILE *fi = fopen(argv[2], "rb");
    if (!fi) { perror(argv[2]); return 2; }
    fseek(fi, 0, SEEK_END);
    long size = ftell(fi);
    fseek(fi, 0, SEEK_SET);
    size_t n = (size_t)size / sizeof(struct in_case);
    struct in_case *ins = malloc(n * sizeof *ins + 1);
    struct out_case *outs = calloc(n + 1, sizeof *outs);
    if (!ins || !outs || fread(ins, sizeof *ins, n, fi) != n) { fprintf(stderr, "harness: bad input\n"); return 2; }
    fclose(fi);
    for (size_t i = 0; i < n; i++) {
        if (ins[i].code_len > CODE_MAX - 5 ||
            (ins[i].data_addr != DATA_ADDR && (ins[i].data_addr != LOW_ADDR || !low_ok))) {
            outs[i].status = 3;
            continue;
        }
        run_one(&ins[i], &outs[i]);
    }
    FILE *fo = fopen(argv[3], "wb");
    if (!fo || fwrite(outs, sizeof *outs, n, fo) != n || fclose(fo)) { perror(argv[3]); return 2; }
    return 0;
}
