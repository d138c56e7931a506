#!/usr/bin/env python3
# Writes the seed corpora in tests/fuzz/corpus/<target>/ from valid
# messages (the formats are described at the top of each fuzz-*.c).
# Re-run after changing an input format: python3 tests/fuzz/make-corpus.py
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


# ---- server -------------------------------------------------------------
V3, INFO = 0, 1                       # byte 0 of the input
UD = [1 << 32 | k for k in range(6)]  # user_data of a fresh channel's slots


def v3_cmd(cmd, size_exp, resp, ud, off, data):
    return struct.pack("<BB6xQQQ", cmd, size_exp | (0x10 if resp else 0),
                       ud, off, data)


def info_cmd(cmd, size_exp, resp, ud, off, data):
    info = cmd | size_exp << 4 | (0x40 if resp else 0)
    return struct.pack("<I4xQQQ", info, ud, off, data)


def raw(ch, payload):                 # op 0/1: raw bytes to A (0) or B (1)
    return bytes([ch, len(payload)]) + payload


def structured(ch, sel, cmd, exp_resp, off, data):   # op 2
    return bytes([2 | ch << 3, sel, cmd, exp_resp, off]) + struct.pack("<Q", data)


DISPATCH = bytes([3])


def complete(ch, val):                # op 4
    return bytes([4 | ch << 3]) + struct.pack("<Q", val)


s = bytes([V3])
for ch in (0, 1):
    s += structured(ch, 0, 1, 2 | 4, 0x10, 0x11223344)   # write 4, resp
    s += structured(ch, 0, 0, 2, 0x10, 0)                # read 4
    s += structured(ch, 1, 1, 2, 0x8, 0xabcdef)          # posted write
    s += structured(ch, 2, 0, 1, 2, 0)                   # PIO read 2
    s += structured(ch, 3, 1, 0, 0, 0)                   # doorbell
    s += structured(ch, 4, 0, 2, 0, 0)                   # deferred read
    s += DISPATCH + complete(ch, 0x55) + DISPATCH
write("server", "structured-v3", s)

s = bytes([INFO])
for ch in (0, 1):
    s += structured(ch, 0, 1, 3 | 4, 0x20, 0x0102030405060708)
    s += structured(ch, 0, 0, 3, 0x20, 0)
    s += structured(ch, 5, 0, 2, 0, 0)                   # stale user_data
    s += DISPATCH
write("server", "structured-info", s)

# Raw packets on SEQPACKET: exact, short, long; a read of every width.
s = bytes([V3])
for e in range(4):
    s += raw(0, v3_cmd(0, e, True, UD[0], 8, 0))
s += raw(0, v3_cmd(0, 2, True, UD[0], 8, 0)[:16])
s += raw(0, v3_cmd(1, 2, True, UD[0], 8, 7) + b"\0" * 8)
s += raw(0, v3_cmd(0, 5, True, UD[0], 0, 0))             # bad size
s += raw(0, v3_cmd(7, 0, True, UD[0], 0, 0))             # unknown cmd
s += DISPATCH
write("server", "raw-seqpacket-v3", s)

# A stream cut at odd places, then EOF in the middle of a command.
cmds = b"".join(v3_cmd(0, 3, True, UD[0], 8 * k, 0) for k in range(4))
s = bytes([V3]) + raw(1, cmds[:7]) + DISPATCH + raw(1, cmds[7:70]) + \
    DISPATCH + raw(1, cmds[70:]) + DISPATCH + raw(1, cmds[:20]) + bytes([6 | 1 << 3])
write("server", "raw-stream-split-eof", s)

s = bytes([INFO]) + raw(1, info_cmd(0, 2, True, UD[2], 0, 0) +
                          info_cmd(1, 0, False, UD[3], 0, 0)) + DISPATCH
s += raw(0, info_cmd(0, 1, False, UD[4], 0, 0)) + DISPATCH
s += bytes([5, 4]) + DISPATCH          # destroy the deferring region on A
write("server", "raw-info-deferred-destroy", s)

# More deferred reads queued on one channel than any fixed number of end
# rounds: the harness must wait for all of them (a long campaign found
# this; its input is kept verbatim as regress-258-deferred-stream).
s = bytes([V3]) + b"".join(structured(1, 4, 0, 2 | 4, 0, 0) for _ in range(300))
write("server", "many-deferred-stream", s)

# ---- bridge -------------------------------------------------------------
# byte 0 flags (1 stream, 2 info, 4 polling), byte 1 op count, 12-byte ops,
# then the device's script.


def op(kind, write_, base, off, size_sel, b4=0, val=0):
    return bytes([kind | (8 if write_ else 0), base, off & 0xff, size_sel, b4]) + \
        struct.pack("<Q", val)[:7]


def answer(v, split=None, extra=False):
    t = 0 | (4 if split is not None else 0) | (8 if extra else 0)
    return bytes([t]) + struct.pack("<Q", v) + (bytes([split]) if split is not None else b"")


def raw_answer(b):
    return bytes([1, len(b)]) + b


SILENT, HANGUP = bytes([2]), bytes([3])

ops = [op(0, False, 0, 0, 2), op(0, True, 0, 4, 2, val=0x1234),
       op(0, True, 1, 0, 2, val=5), op(1, False, 2, 0, 0),
       op(0, True, 3, 0, 0), op(2, False, 0, 8, 4),
       op(3, False, 2, 0, 0, b4=4), op(3, True, 2, 0, 1, b4=3)]
script = answer(0x11) + answer(0) + answer(0x22) + answer(0x33) + \
    b"".join(answer(k) for k in range(4)) + answer(0) * 3
for flags, name in ((0, "seqpacket-v3"), (1, "stream-v3"), (2, "seqpacket-info"),
                    (5, "stream-polling")):
    write("bridge", name, bytes([flags, len(ops)]) + b"".join(ops) + script)

ops = [op(0, False, 0, 0, 3)] * 6
script = answer(0xdead, split=5) + raw_answer(b"\x01" * 16) + \
    raw_answer(b"\x02" * 40) + answer(7, extra=True) + SILENT + HANGUP
write("bridge", "bad-answers-stream", bytes([1, len(ops)]) + b"".join(ops) + script)
write("bridge", "bad-answers-seqpacket", bytes([0, len(ops)]) + b"".join(ops) + script)

# ---- hand-off -----------------------------------------------------------
# byte 0 flags (1 stream, 2 non-blocking, 4 no fallback pointer), then
# chunks: header (fds 0-3, 4: a non-socket), len, bytes. Message version 2.
MAGIC = 0x48524f49
NOT_SOCKET = 4


def handoff(type_, addr=0, size=0, ud=0, flags=0, dialect=0, name=b"",
            nfds=0):
    return struct.pack("<IHHQQQII32sI20x", MAGIC, 2, type_, addr, size, ud,
                       flags, dialect, name, nfds)


region = handoff(1, 0xd0000000, 0x1000, 1 << 32, 0, 3, b"scratch", 1)
pio = handoff(1, 0x3f8, 8, 1 << 32 | 1, 1, 5, b"uart", 1)
region2 = handoff(1, 0xd0001000, 0x100, 2 << 32, 2, 3, b"fallback", 2)
end = handoff(2)


def chunk(nfds, b):
    return bytes([nfds, len(b)]) + b


write("handoff", "seqpacket-region-end",
      bytes([0]) + chunk(1, region) + chunk(1, pio) + chunk(0, end))
write("handoff", "stream-region-end",
      bytes([1]) + chunk(1, region) + chunk(0, end))
write("handoff", "stream-split",
      bytes([3]) + chunk(1, region[:40]) + chunk(0, region[40:]) + chunk(0, end))
write("handoff", "extra-fds-and-bad",
      bytes([0]) + chunk(3, region) + chunk(0, region) + chunk(1, end) +
      chunk(1, region[:50]) + chunk(1, b"\0" * 96))
write("handoff", "seqpacket-fallback",
      bytes([0]) + chunk(2, region2) + chunk(1, region2) + chunk(2, region) +
      chunk(2 | NOT_SOCKET, region2) + chunk(1 | NOT_SOCKET, region) +
      chunk(0, end))
write("handoff", "stream-fallback-no-pointer",
      bytes([1 | 4]) + chunk(2, region2) + chunk(0, end))

# ---- control session ----------------------------------------------------
# byte 0 flags (1 device side under test, 2 fallback / wants memory, 4 two
# lines), then chunks: header (fds 0-3 | kind << 2: 0 socket, 1 eventfd,
# 2 memfd, 3 /dev/null), u16 length, bytes. Protocol version 1.
S_MAGIC = 0x53524f49
(HELLO, WELCOME, REGION, REGIONS_DONE, IRQ, MEM_SLOT, READY, MEM_REMOVE,
 RESET, SHUTDOWN, ACK, ERROR) = range(1, 13)
SOCK, EVENTFD, MEMFD = 0, 1, 2


def smsg(type_, body, nfds=0, version=1):
    return struct.pack("<IHHIHH", S_MAGIC, version, type_, 16 + len(body),
                       nfds, 0) + body


def schunk(nfds, kind, b):
    return bytes([nfds | kind << 2]) + struct.pack("<H", len(b)) + b


def hello(name, flags, lines):
    body = struct.pack("<32sII8x", name, flags, len(lines))
    for trigger, lname in lines:
        body += struct.pack("<II24s", trigger, 0, lname)
    return body + b"\0" * (32 * (16 - len(lines)))


def sregion(addr, size, ud, flags, dialect, name):
    return struct.pack("<QQQII32s8x", addr, size, ud, flags, dialect, name)


def ack(type_, result):
    return struct.pack("<Ii8x", type_, result)


two_lines = [(1, b"edge"), (2, b"level")]
h = smsg(HELLO, hello(b"seed", 1, two_lines))
r1 = sregion(0xd0000000, 0x100, 1 << 32, 0, 3, b"regs")
write("session", "vmm-full",
      bytes([0]) + schunk(0, SOCK, h) + schunk(1, SOCK, smsg(REGION, r1, 1)) +
      schunk(0, SOCK, smsg(REGIONS_DONE, struct.pack("<II", 1, 0))) +
      schunk(0, SOCK, smsg(ACK, ack(READY, 0), 0)) +
      schunk(0, SOCK, smsg(ACK, ack(RESET, 0), 0)))
write("session", "vmm-fallback",
      bytes([2]) + schunk(0, SOCK, smsg(HELLO, hello(b"fb", 0, []))) +
      schunk(2, SOCK, smsg(REGION, r1, 2)) +
      schunk(0, SOCK, smsg(REGIONS_DONE, struct.pack("<II", 1, 0))) +
      schunk(0, SOCK, smsg(ACK, ack(READY, 0))))
write("session", "vmm-bad",
      bytes([0]) + schunk(0, SOCK, smsg(HELLO, hello(b"v", 0, []), version=2)))
write("session", "vmm-wrong-fds",
      bytes([0]) + schunk(0, SOCK, smsg(HELLO, hello(b"w", 0, []))) +
      schunk(1, EVENTFD, smsg(REGION, r1, 1)))
irq_e = smsg(IRQ, struct.pack("<IIII", 0, 1, 4, 0), 1)
irq_l = smsg(IRQ, struct.pack("<IIII", 1, 2, 10, 0), 2)
slot = smsg(MEM_SLOT, struct.pack("<QQQII", 0x100000, 8192, 0, 0, 0), 1)
ready = smsg(READY, struct.pack("<II8x", 2, 1))
write("session", "device-full",
      bytes([1 | 2 | 4]) +
      schunk(0, SOCK, smsg(WELCOME, struct.pack("<II8x", 3, 0))) +
      schunk(1, EVENTFD, irq_e) + schunk(2, EVENTFD, irq_l) +
      schunk(1, MEMFD, slot) + schunk(0, SOCK, ready) +
      schunk(0, SOCK, smsg(RESET, b"\0" * 8)) +
      schunk(0, SOCK, smsg(MEM_REMOVE, struct.pack("<QQ", 0x100000, 0))) +
      schunk(1, MEMFD, slot) +
      schunk(0, SOCK, smsg(SHUTDOWN, b"\0" * 8)))
write("session", "device-fallback",
      bytes([1]) +
      schunk(0, SOCK, smsg(WELCOME, struct.pack("<II8x", 5, 1))) +
      schunk(0, SOCK, smsg(READY, struct.pack("<II8x", 0, 0))))
write("session", "device-bad-irq",
      bytes([1 | 4]) +
      schunk(0, SOCK, smsg(WELCOME, struct.pack("<II8x", 3, 0))) +
      schunk(1, SOCK, irq_e))

# ---- virtq --------------------------------------------------------------
# Header: queue size - 1, segments per pop - 1, rounds - 1, desc/avail/used
# offsets from guest RAM (u16), 4 avail->idx bumps; then guest memory.
RAM = 0x10000
NEXT, WR, INDIRECT = 1, 2, 4


def virtq(descs, heads, qsize=8, max_segs=4, rounds=2, rings=(0, 0x100, 0x200),
          bumps=(0, 0, 0, 0), avail_idx=None):
    mem = bytearray(0x300)
    for i, (addr, ln, flags, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", mem, 16 * i, addr, ln, flags, nxt)
    idx = len(heads) if avail_idx is None else avail_idx
    struct.pack_into("<HH", mem, 0x100, 0, idx)
    for i, h in enumerate(heads):
        struct.pack_into("<H", mem, 0x104 + 2 * i, h)
    return struct.pack("<BBBHHHBBBB", qsize - 1, max_segs - 1, rounds - 1,
                       *rings, *bumps) + bytes(mem)


buf = RAM + 0x1000
write("virtq", "chains-1-2-3", virtq(
    [(buf, 512, WR, 0),
     (buf + 0x200, 16, NEXT, 2), (buf + 0x300, 1, WR, 0),
     (buf + 0x400, 16, NEXT, 4), (buf + 0x500, 512, NEXT | WR, 5),
     (buf + 0x700, 1, WR, 0)], [0, 1, 3], bumps=(0, 1, 0, 0)))
write("virtq", "loop", virtq([(buf, 8, NEXT, 1), (buf, 8, NEXT, 0)], [0],
                            max_segs=16))
write("virtq", "outside", virtq([(0x30000, 8, 0, 0)], [0]))
write("virtq", "write-read-only", virtq([(RAM + 0x2000, 8, WR, 0)], [0]))
write("virtq", "read-read-only", virtq([(RAM + 0x2000, 0x1000, 0, 0)], [0]))
write("virtq", "indirect", virtq([(buf, 16, INDIRECT, 0)], [0]))
write("virtq", "overflow", virtq([(buf, 0xffffffff, NEXT, 1),
                                  (buf, 0xffffffff, 0, 0)], [0]))
write("virtq", "avail-ahead", virtq([(buf, 8, 0, 0)], [0], avail_idx=100))
write("virtq", "index-past-queue", virtq([(buf, 8, NEXT, 9)], [0]))
write("virtq", "misaligned-used", virtq([(buf, 8, 0, 0)], [0],
                                        rings=(0, 0x100, 0x201)))
write("virtq", "too-many-segments", virtq(
    [(buf + 16 * i, 16, NEXT, i + 1) for i in range(5)] + [(buf, 1, WR, 0)],
    [0], max_segs=4))


# ---- vstate -------------------------------------------------------------
# The state area of a transport (device 2, VERSION_1, 2 queues of 16;
# layout: lib/device/virtio-private.h), 320 bytes, then guest memory.
def fnv(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def vs_record(seq, status, queues, bad_sum=False):
    body = struct.pack("<IIIIQII", status, 0, 0, 0, 1 << 32, 0, 0)
    for (desc, avail, used, num, ready) in queues:
        body += struct.pack("<QQQIBB2x", desc, avail, used, num, ready, 0)
    s = fnv(struct.pack("<I", seq) + body) ^ (1 if bad_sum else 0)
    return struct.pack("<IIQ", seq, 0, s) + body


def vstate(progress, status=0x0f, torn=False, mem=None):
    q0 = (RAM, RAM + 0x100, RAM + 0x200, 8, 1)
    q1 = (0, 0, 0, 16, 0)
    hdr = struct.pack("<IIIIIIQI28x", 0x534f4956, 1, 2, 2, 16, 112, 1 << 32, 0)
    older = vs_record(1, 0x0b, [q0, q1])
    newer = vs_record(2, status, [q0, q1], bad_sum=torn)
    area = hdr + older + newer
    for word, bits in progress:
        area += struct.pack("<QQ", word, bits)
    assert len(area) == 320
    if mem is None:
        mem = bytearray(0x300)
        struct.pack_into("<QIHH", mem, 0, RAM + 0x1000, 16, NEXT, 1)
        struct.pack_into("<QIHH", mem, 16, RAM + 0x1100, 1, WR, 0)
        struct.pack_into("<HHH", mem, 0x100, 0, 2, 0)
    return area + bytes(mem)


def vqp(last_avail, used_idx, head=0, op=0):
    return last_avail | used_idx << 16 | head << 32 | op << 48


write("vstate", "new", b"\0")
write("vstate", "one-held", vstate([(vqp(1, 0), 1), (0, 0)]))
write("vstate", "mid-pop", vstate([(vqp(1, 0, 0, 1), 0), (0, 0)]))
write("vstate", "mid-push", vstate([(vqp(1, 1, 0, 2), 1), (0, 0)]))
write("vstate", "torn-newer", vstate([(vqp(1, 0), 1), (0, 0)], torn=True))
write("vstate", "count-off", vstate([(vqp(1, 0), 3), (0, 0)]))
write("vstate", "queue-not-ready-garbage", vstate([(vqp(1, 0), 1),
                                                  (0xffffffffffffffff, 7)]))

# ---- pvh: tinyvmm's PVH loader; the input is the ELF file itself ---------
def pvh_elf(entry=0x200010, entry_size=8, notes_first=False):
    """An x86-64 ET_EXEC with two PT_LOAD segments (0x200000, 0x300000: in
    the target's RAM of 1-16 MiB) and a PT_NOTE with another Xen note and
    the PVH entry (type 18)."""
    def note(name, typ, desc):
        n = name + b"\0"
        pad = lambda b: b + b"\0" * (-len(b) % 4)
        return struct.pack("<III", len(n), len(desc), typ) + pad(n) + pad(desc)
    notes = note(b"Xen", 6, b"abc\0")
    notes += note(b"Xen", 18, struct.pack("<Q" if entry_size == 8 else "<I",
                                          entry))
    phoff, nph = 64, 3
    note_off = phoff + nph * 56
    seg0, seg1 = 0x200, 0x300
    eh = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) +
          struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0xffffffff81000000,
                      phoff, 0, 0, 64, 56, nph, 64, 0, 0))
    ph = struct.pack("<IIQQQQQQ", 1, 5, seg0, 0xffffffff80200000, 0x200000,
                     0x100, 0x1000, 0x1000)
    ph += struct.pack("<IIQQQQQQ", 1, 6, seg1, 0xffffffff80300000, 0x300000,
                      0x40, 0x80, 0x1000)
    ph += struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(notes),
                      len(notes), 4)
    img = bytearray(eh + ph + notes)
    img += bytes(seg0 - len(img))
    img += bytes((0x80 + i) & 0xff for i in range(0x100))
    img += bytes(0x10 + i for i in range(0x40))
    return bytes(img)


write("pvh", "valid-entry8", pvh_elf())
write("pvh", "valid-entry4", pvh_elf(entry_size=4))
write("pvh", "entry-outside", pvh_elf(entry=0x200100))
write("pvh", "truncated", pvh_elf()[:0x100])
