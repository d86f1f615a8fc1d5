// Reading a memory-mapped file that another program cuts shorter meanwhile.
//
// Touching a mapped page that lies wholly past the file's new end raises SIGBUS, which ends the
// process: a capture rotated by `tcpdump -C/-W` (reopened with O_TRUNC) under a running
// analysis would kill it with no message. Swift cannot catch a signal, so this small C part
// does: a window registered here that faults gets an empty page mapped over the faulting one
// (reads then see zeros and go on) and is marked, and the reader, which touches each record's
// pages before handing it out, ends with an error saying what happened instead. Faults
// anywhere else are left to whatever handled SIGBUS before (by default: the process ends, as
// it would have).
#ifndef C_MAP_GUARD_H
#define C_MAP_GUARD_H

#include <stddef.h>

/// Watches `[start, start + length)` for SIGBUS (the handler is installed on the first call).
/// Returns a slot for the other calls, or -1 when every slot is taken (the window then goes
/// unwatched, as before this existed).
int map_guard_watch(const void *start, size_t length);

/// Stops watching the slot's window (call before unmapping it). A slot of -1 is ignored.
void map_guard_forget(int slot);

/// Whether a read in the slot's window faulted since it was watched (never for a slot of -1).
_Bool map_guard_faulted(int slot);

/// Reads one octet of every page of `start[0..<length]` (in the slot's window), so that a page
/// the file lost faults now, then says whether a read in the window faulted since it was
/// watched (never for a slot of -1).
_Bool map_guard_touch(int slot, const void *start, size_t length);

#endif
