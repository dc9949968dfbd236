/*
 * netns: run a scenario in a private network namespace, so packet capture works without root
 * and the scenario's ports are isolated from everything else on the machine.
 *
 * After fl_netns_enter the calling process (and every child it forks afterwards) sees its own
 * network stack with only `lo`, brought up. Peers started after it can bind any port without
 * clashing with other runs; a capture on "lo" sees only this run's traffic.
 */
#ifndef FL_NETNS_H
#define FL_NETNS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Moves the calling process into a new network namespace and brings its loopback up.
 *
 * - With CAP_SYS_ADMIN (root): only a new network namespace (CLONE_NEWNET). The process keeps its
 *   identity and its capabilities over the rest of the system (e.g. ptrace, rlimits, files owned
 *   by others), which a user namespace would take away.
 * - Otherwise: a new user namespace together with the network namespace
 *   (CLONE_NEWUSER|CLONE_NEWNET, like `unshare -n -r` but keeping the ids). The caller's uid and
 *   gid are mapped to themselves, setgroups is denied (required to write gid_map unprivileged),
 *   and the process is made dumpable if it was not (else it could not write its own id maps).
 *   Inside, the caller holds every capability over the new namespaces, so it may open packet
 *   sockets on the new `lo`. Children it execs run with the same uid and no capabilities, and it
 *   may still ptrace them (same uid, and it owns their user namespace).
 *
 * Must be called while the process is single-threaded (the kernel refuses CLONE_NEWUSER
 * otherwise): before starting a capture, the watchdog or any other thread, and before forking the
 * peers. Outside connections made afterwards cannot reach the host's network: a scenario with an
 * external `target:` on another machine cannot use this mode.
 *
 * Returns 0, or -1 with a one-line reason in err (errlen bytes, always terminated), e.g. when
 * unprivileged user namespaces are disabled (sysctl user.max_user_namespaces=0,
 * kernel.unprivileged_userns_clone=0, or an AppArmor restriction). If the namespaces were created
 * but setting them up failed (the message then starts with "inside the new namespace"), the
 * process cannot go back: treat that as fatal for the run.
 */
int fl_netns_enter(char *err, size_t errlen);

/*
 * Whether the calling thread has CAP_NET_RAW in its effective set, i.e. may open a packet socket
 * in a network namespace owned by its own user namespace (the usual case). A cheap check so the
 * runner can say why capture is off before it tries.
 */
bool fl_have_cap_net_raw(void);

#endif
