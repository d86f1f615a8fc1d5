#include "CMapGuard.h"

#if defined(__linux__) || defined(__APPLE__)

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// Windows are mapped one at a time per capture file, so a slot per file read at once.
#define MAP_GUARD_SLOTS 64

typedef struct {
    atomic_bool taken;
    _Atomic uintptr_t start;  // 0 while the slot watches nothing
    _Atomic uintptr_t end;
    atomic_bool faulted;
} map_guard_slot;

static map_guard_slot slots[MAP_GUARD_SLOTS];
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static uintptr_t page_size;

static void on_sigbus(int signal, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    // Only an access to a page the file no longer has (the kernel's BUS_ADRERR): not a SIGBUS
    // sent by kill(2) (si_code <= 0) nor a hardware memory error (BUS_MCEERR_*).
    for (int i = 0; info->si_code == BUS_ADRERR && i < MAP_GUARD_SLOTS; i++) {
        uintptr_t start = atomic_load(&slots[i].start);
        if (start == 0 || address < start || address >= atomic_load(&slots[i].end)) continue;
        // The slot may have been forgotten and taken again between the two loads: its start
        // read again must be the same window's.
        if (atomic_load(&slots[i].start) != start) continue;
        // An empty page in place of the one the file no longer has: the read that faulted runs
        // again and sees zeros. (mmap is a plain system call here, safe in a handler.)
        void *page = (void *)(address & ~(page_size - 1));
        if (mmap(page, (size_t)page_size, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) break;
        atomic_store(&slots[i].faulted, 1);
        return;
    }
    // Not a watched window: what was there before decides.
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != NULL) {
        previous.sa_sigaction(signal, info, context);
    } else if (previous.sa_handler == SIG_IGN && info->si_code <= 0) {
        // Sent by a process, and SIGBUS was ignored before: still ignored.
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(signal);
    } else {
        // The default action, as without this handler: the process ends.
        struct sigaction restore;
        memset(&restore, 0, sizeof restore);
        restore.sa_handler = SIG_DFL;
        sigaction(SIGBUS, &restore, NULL);
        raise(signal);  // SA_NODEFER: delivered now (a faulting read would also fault again)
    }
}

static void install(void) {
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous);
}

int map_guard_watch(const void *start, size_t length) {
    pthread_once(&installed, install);
    uintptr_t from = (uintptr_t)start;
    if (from == 0 || length == 0) return -1;
    for (int i = 0; i < MAP_GUARD_SLOTS; i++) {
        _Bool unused = 0;
        if (!atomic_compare_exchange_strong(&slots[i].taken, &unused, 1)) continue;
        atomic_store(&slots[i].faulted, 0);
        // The end before the start: a handler that sees the start sees the whole window.
        atomic_store(&slots[i].end, from + length);
        atomic_store(&slots[i].start, from);
        return i;
    }
    return -1;
}

void map_guard_forget(int slot) {
    if (slot < 0 || slot >= MAP_GUARD_SLOTS) return;
    atomic_store(&slots[slot].start, 0);
    atomic_store(&slots[slot].taken, 0);
}

_Bool map_guard_faulted(int slot) {
    if (slot < 0 || slot >= MAP_GUARD_SLOTS) return 0;
    atomic_signal_fence(memory_order_seq_cst);
    return atomic_load_explicit(&slots[slot].faulted, memory_order_relaxed);
}

_Bool map_guard_touch(int slot, const void *start, size_t length) {
    if (slot < 0 || slot >= MAP_GUARD_SLOTS || length == 0) return 0;
    // One read in each page: a page the file lost faults here, before anyone analyses it.
    const volatile uint8_t *bytes = (const volatile uint8_t *)start;
    uintptr_t first = (uintptr_t)start;
    (void)bytes[0];
    for (uintptr_t page = (first & ~(page_size - 1)) + page_size; page < first + length; page += page_size) {
        (void)bytes[page - first];
    }
    // The flag is read after those reads (and after whatever the caller read before).
    return map_guard_faulted(slot);
}

#else

int map_guard_watch(const void *start, size_t length) { (void)start; (void)length; return -1; }
void map_guard_forget(int slot) { (void)slot; }
_Bool map_guard_faulted(int slot) { (void)slot; return 0; }
_Bool map_guard_touch(int slot, const void *start, size_t length) { (void)slot; (void)start; (void)length; return 0; }

#endif
