# SPDX-License-Identifier: MIT
"""Pieces the lab's scripts share: the lab's settings and a cpio writer.

Imported by tests/vm/run (the KVM lab runner) and tests/linux/mkinitramfs
(the Linux guest's initramfs); neither needs root.
"""

import os
import re
import stat
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


class LabError(Exception):
    pass


def lab_sh(name):
    """A variable of lab.sh (the one place that names the lab's folders)."""
    lab_sh_path = os.path.join(HERE, "lab.sh")
    try:
        out = subprocess.run(
            ["sh", "-c", '. "$1" && eval "printf %s \\"\\$$2\\""', "sh", lab_sh_path, name],
            capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise LabError("cannot read %s from %s: %s" % (name, lab_sh_path, e)) from None
    if not out:
        raise LabError("%s named no %s" % (lab_sh_path, name))
    return out


def default_cache():
    """The cache folder, as lab.sh computes it."""
    return lab_sh("LAB_CACHE")


def read_lab(cache, need=("ABI", "RELEASE", "KERNEL", "BUSYBOX")):
    """The prepared lab's lab.env as a dict; LabError if it is not prepared.

    The keys in @need must be present; those naming files must exist."""
    hint = "run tests/vm/prepare"
    ready = os.path.join(cache, "ready")
    envf = os.path.join(cache, "lab.env")
    if not os.path.isdir(cache):
        raise LabError("lab not prepared: no cache folder %s (%s)" % (cache, hint))
    if not os.path.isfile(ready) or not os.path.isfile(envf):
        raise LabError("lab not prepared: %s incomplete (%s)" % (cache, hint))
    lab = {}
    with open(envf, encoding="utf-8") as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition("=")
            if sep:
                lab[k] = v
    for k in need:
        if k not in lab:
            raise LabError("lab not prepared: %s lacks %s (%s)" % (envf, k, hint))
    for k in ("KERNEL", "BUSYBOX", "QEMU"):
        if k in need and not os.path.isfile(lab[k]):
            raise LabError("lab not prepared: %s (%s) is missing (%s)" % (lab[k], k, hint))
    return lab


class Cpio:
    """A newc cpio archive written by hand: no root, no cwd games."""

    def __init__(self):
        self.entries = {}  # guest path -> (mode, data bytes, rdev)

    def _dirs(self, path):
        parts = path.strip("/").split("/")[:-1]
        for n in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:n])
            if d not in self.entries:
                self.entries[d] = (stat.S_IFDIR | 0o755, b"", (0, 0))
            elif not stat.S_ISDIR(self.entries[d][0]):
                raise LabError("%s is a file in the initramfs, cannot hold %s" % (d, path))

    def mkdir(self, path):
        self._dirs(path + "/x")

    def add_bytes(self, path, data, mode=0o644):
        self._dirs(path)
        self.entries[path] = (stat.S_IFREG | mode, data, (0, 0))

    def add_file(self, path, src):
        with open(src, "rb") as f:
            data = f.read()
        mode = os.stat(src).st_mode & 0o777
        if path in self.entries and self.entries[path][1] != data:
            raise LabError("two different files for %s in the initramfs" % path)
        self.add_bytes(path, data, mode)

    def add_symlink(self, path, target):
        self._dirs(path)
        self.entries[path] = (stat.S_IFLNK | 0o777, target.encode(), (0, 0))

    def add_chardev(self, path, major, minor):
        self._dirs(path)
        self.entries[path] = (stat.S_IFCHR | 0o600, b"", (major, minor))

    def write(self, out):
        def rec(ino, name, mode, data, rdev):
            nameb = name.encode() + b"\0"
            hdr = "070701" + "".join("%08X" % v for v in (
                ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nameb), 0))
            buf = hdr.encode() + nameb
            buf += b"\0" * (-len(buf) % 4)
            buf += data + b"\0" * (-len(data) % 4)
            return buf

        with open(out, "wb") as f:
            # parents sort before their children
            for ino, path in enumerate(sorted(self.entries), start=1):
                mode, data, rdev = self.entries[path]
                f.write(rec(ino, path.lstrip("/"), mode, data, rdev))
            f.write(rec(0, "TRAILER!!!", 0, b"", (0, 0)))
        return sum(len(e[1]) for e in self.entries.values())


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def shared_libs(path):
    """Absolute paths of the libraries (and loader) the ELF file needs."""
    try:
        r = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, LC_ALL="C"))
    except (OSError, subprocess.SubprocessError) as e:
        raise LabError("ldd %s failed: %s" % (path, e)) from None
    text = r.stdout + r.stderr
    if "not a dynamic executable" in text or "statically linked" in text:
        return []
    if r.returncode != 0:
        raise LabError("ldd %s failed (exit %d): %s" % (path, r.returncode, text.strip()))
    libs = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+not found", line)
        if m:
            raise LabError("%s needs %s, which ldd cannot find on the host" % (path, m.group(1)))
        m = re.match(r"\s*\S+\s+=>\s+(/\S+)\s+\(0x", line) or re.match(r"\s*(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


# libgcc_s is dlopen()ed by glibc (pthread_cancel, backtraces): ldd misses it
DLOPENED_BY_LIBC = ["/lib/x86_64-linux-gnu/libgcc_s.so.1", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"]
