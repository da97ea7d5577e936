# SPDX-License-Identifier: BSD-2-Clause
"""Run-time statistics of another process's BPF programs, through the bpf(2)
syscall (ctypes; no bpftool needed).

- enable_stats(): BPF_ENABLE_STATS, the same switch as
  `sysctl kernel.bpf_stats_enabled=1`, but held by a file descriptor: the
  kernel turns it off again when every holder has closed it, so the host's
  setting is never left changed.
- ProgSet.grab(pid): finds the BPF programs a process has loaded (its
  anon_inode:bpf-prog descriptors) and takes our own reference to each
  (BPF_PROG_GET_FD_BY_ID). The programs then outlive the process, detached,
  so their final run_time_ns / run_cnt can be read from our descriptor's
  fdinfo after the profiler has exited: nothing is lost to a polling window.
  The counters start at 0 when a program is loaded, so the final values are
  the totals over the profiler's whole run.
"""
import ctypes
import os
import platform

_NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd, attr):
    if _NR_BPF is None:
        raise OSError("bpf(2): unsupported architecture %s" % platform.machine())
    r = _libc.syscall(ctypes.c_long(_NR_BPF), ctypes.c_int(cmd), ctypes.byref(attr),
                      ctypes.c_uint(ctypes.sizeof(attr)))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


class _EnableStats(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32)]


class _GetFdById(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("next_id", ctypes.c_uint32),
                ("open_flags", ctypes.c_uint32)]


class _InfoByFd(ctypes.Structure):
    _fields_ = [("bpf_fd", ctypes.c_uint32), ("info_len", ctypes.c_uint32),
                ("info", ctypes.c_uint64)]


def enable_stats():
    """Returns a descriptor that keeps BPF run-time statistics on; close it
    to give the switch back."""
    return _bpf(BPF_ENABLE_STATS, _EnableStats(BPF_STATS_RUN_TIME))


def stats_sysctl():
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled") as f:
            return f.read().strip()
    except OSError:
        return "?"


def prog_name(fd):
    """The program's name (struct bpf_prog_info.name, at offset 64)."""
    buf = ctypes.create_string_buffer(80)
    attr = _InfoByFd(fd, 80, ctypes.addressof(buf))
    _bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    return buf.raw[64:80].split(b"\0", 1)[0].decode("ascii", "replace")


def fdinfo(pid, fd):
    out = {}
    with open("/proc/%s/fdinfo/%d" % (pid, fd)) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


def prog_ids(pid):
    """IDs of the BPF programs process pid holds a descriptor to."""
    ids = set()
    d = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return ids
    for name in fds:
        try:
            if os.readlink(os.path.join(d, name)) != "anon_inode:bpf-prog":
                continue
            ids.add(int(fdinfo(pid, int(name))["prog_id"]))
        except (OSError, KeyError, ValueError):
            continue  # closed meanwhile
    return ids


class ProgSet:
    """Our own references to a set of BPF programs."""

    def __init__(self):
        self.fds = {}  # prog id -> (fd, name)

    def grab(self, pid):
        for pid_ in sorted(prog_ids(pid)):
            if pid_ in self.fds:
                continue
            try:
                fd = _bpf(BPF_PROG_GET_FD_BY_ID, _GetFdById(pid_, 0, 0))
            except OSError:
                continue  # unloaded meanwhile
            self.fds[pid_] = (fd, prog_name(fd))
        return len(self.fds)

    def read(self):
        """{name: [run_time_ns, run_cnt]}, summed over programs of one name."""
        out = {}
        for fd, name in self.fds.values():
            info = fdinfo("self", fd)
            t = out.setdefault(name, [0, 0])
            t[0] += int(info.get("run_time_ns", 0))
            t[1] += int(info.get("run_cnt", 0))
        return out

    def close(self):
        for fd, _ in self.fds.values():
            os.close(fd)
        self.fds = {}
