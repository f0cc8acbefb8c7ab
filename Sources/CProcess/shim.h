// Linux process calls Swift cannot reach through Glibc: prctl is variadic and
// posix_spawn_file_actions_addclosefrom_np is declared only under _GNU_SOURCE.
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>

extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// Asks the kernel to send `sig` to this process when the thread that started it exits
/// (PR_SET_PDEATHSIG); 0 on success, -1 with errno set otherwise.
static inline int surgeon_set_parent_death_signal(int sig) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL);
}

/// Adds "close every descriptor from `from` up" to a posix_spawn file-action list (glibc 2.34+).
static inline int surgeon_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
