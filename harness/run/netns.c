#include "netns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* capget(2) directly: libcap is not a dependency and this is the only capability query. */
static bool have_effective_cap(int cap) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

  memset(data, 0, sizeof data);
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[cap / 32].effective & (UINT32_C(1) << (cap % 32))) != 0;
}

bool fl_have_cap_net_raw(void) { return have_effective_cap(CAP_NET_RAW); }

static int write_file(const char *path, const char *text) {
  size_t len = strlen(text);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0) return -1;
  /* The id-map files accept exactly one write(2); a short write would be a failed map. */
  n = write(fd, text, len);
  if (close(fd) != 0 || n != (ssize_t)len) {
    if (n >= 0 && n != (ssize_t)len) errno = EIO;
    return -1;
  }
  return 0;
}

static int bring_lo_up(char *err, size_t errlen) {
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int rv = -1;

  if (fd < 0) {
    fl_set_err(err, errlen, "inside the new namespace: socket: %s", strerror(errno));
    return -1;
  }
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    fl_set_err(err, errlen, "inside the new namespace: cannot read the flags of lo: %s",
               strerror(errno));
    goto out;
  }
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
    fl_set_err(err, errlen, "inside the new namespace: cannot bring lo up: %s", strerror(errno));
    goto out;
  }
  rv = 0;
out:
  close(fd);
  return rv;
}

int fl_netns_enter(char *err, size_t errlen) {
  /* The ids to map must be read before the unshare: inside a fresh user namespace without a map
   * they read as the overflow id (65534). */
  unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();
  bool with_user = !have_effective_cap(CAP_SYS_ADMIN);
  char map[64];

  if (unshare(with_user ? CLONE_NEWUSER | CLONE_NEWNET : CLONE_NEWNET) != 0) {
    int e = errno;

    if (e == EINVAL && with_user)
      fl_set_err(err, errlen,
                 "cannot create a user namespace: the process is multi-threaded (enter the "
                 "namespace before starting any thread)");
    else if (e == EPERM && with_user)
      fl_set_err(err, errlen,
                 "cannot create a user+network namespace: not permitted (unprivileged user "
                 "namespaces are disabled here: sysctl user.max_user_namespaces, "
                 "kernel.unprivileged_userns_clone or AppArmor); run as root or grant "
                 "cap_net_raw instead");
    else if (e == ENOSPC)
      fl_set_err(err, errlen, "cannot create a %s namespace: the limit is reached (%s)",
                 with_user ? "user" : "network",
                 with_user ? "user.max_user_namespaces" : "user.max_net_namespaces");
    else
      fl_set_err(err, errlen, "cannot create a %snetwork namespace: %s", with_user ? "user+" : "",
                 strerror(e));
    return -1;
  }

  if (with_user) {
    /* A process that changed its uid or runs a binary with file capabilities is not dumpable,
     * which makes the files under /proc/self owned by root: it could not write its own id maps.
     * Its uid owns the new user namespace (and so may ptrace it anyway), so being dumpable gives
     * no one anything new. */
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    if (dumpable == 0) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (write_file("/proc/self/setgroups", "deny") != 0) {
      fl_set_err(err, errlen, "inside the new namespace: cannot deny setgroups: %s",
                 strerror(errno));
      return -1;
    }
    snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
    if (write_file("/proc/self/uid_map", map) != 0) {
      fl_set_err(err, errlen, "inside the new namespace: cannot map uid %u: %s", uid,
                 strerror(errno));
      return -1;
    }
    snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
    if (write_file("/proc/self/gid_map", map) != 0) {
      fl_set_err(err, errlen, "inside the new namespace: cannot map gid %u: %s", gid,
                 strerror(errno));
      return -1;
    }
  }
  return bring_lo_up(err, errlen);
}
