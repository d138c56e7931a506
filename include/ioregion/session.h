/* SPDX-License-Identifier: MIT */
/*
 * libioregion control session, protocol version 1: the conversation
 * between one device process and its VMM on a UNIX socket, from the
 * device's first message until the VMM shuts it down. It replaces the
 * one-way hand-off (ioregion/handoff.h) for devices that need more than
 * register access: interrupt lines, guest memory, reset and reconnect.
 * No stable ABI before libioregion 1.0. No libev here.
 *
 * The library helpers speak it for both sides: ioregion/device.h (the
 * device, libioregion-server) and ioregion/vmm.h (the VMM, libioregion).
 * This header is the protocol's description; docs/design.md ("Control
 * session") has the same facts with the reasons.
 *
 * Transport: one SOCK_SEQPACKET UNIX socket per device process, one
 * message per packet, fds in SCM_RIGHTS on the packet that needs them.
 * Host byte order (both ends are on one host), no implicit padding.
 *
 * Every message is a 16-byte header followed by the fixed-size body of
 * its type:
 *
 *   offset size name       meaning
 *   0      4    magic      IOREGION_SESSION_MAGIC ("IORS" in memory)
 *   4      2    version    IOREGION_SESSION_VERSION
 *   6      2    type       enum ioregion_session_type
 *   8      4    length     bytes of the whole message, header included
 *   12     2    nfds       fds in this packet's SCM_RIGHTS
 *   14     2    reserved   zero
 *
 * Message table (length = 16 + body; "fds" is what nfds must be):
 *
 *   type             dir  body fds  body
 *   1  HELLO         D>V  560  0    struct ioregion_session_hello
 *   2  WELCOME       V>D  16   0    struct ioregion_session_welcome
 *   3  REGION        D>V  72   1|2  struct ioregion_session_region;
 *                                   main fd, then fallback fd (sockets)
 *   4  REGIONS_DONE  D>V  8    0    struct ioregion_session_regions_done
 *   5  IRQ           V>D  16   1|2  struct ioregion_session_irq; trigger
 *                                   eventfd, then resample eventfd (level)
 *   6  MEM_SLOT      V>D  32   1    struct ioregion_session_mem_slot; the
 *                                   memory fd (memfd)
 *   7  READY         V>D  16   0    struct ioregion_session_ready
 *   8  MEM_REMOVE    V>D  16   0    struct ioregion_session_mem_remove
 *   9  RESET         V>D  8    0    struct ioregion_session_empty
 *   10 SHUTDOWN      V>D  8    0    struct ioregion_session_empty
 *   11 ACK           D>V  16   0    struct ioregion_session_ack
 *   12 ERROR         both 64   0    struct ioregion_session_error
 *
 * Flow: HELLO; WELCOME; REGION per region (1 fd, or 2 when WELCOME says
 * IOREGION_SESSION_WELCOME_F_FALLBACK), REGIONS_DONE; IRQ per wanted line
 * (in line order; 2 fds for a level line), MEM_SLOT per granted slot (only
 * to a device whose HELLO asked for memory), READY, which the device
 * answers with an ACK once it has taken the lines and mapped the memory:
 * from then on it serves. After that the VMM may send MEM_SLOT,
 * MEM_REMOVE and RESET, one at a time, each answered by an ACK with the
 * device's result, and SHUTDOWN (no answer: the device closes). A restarted device runs the same flow again on a new
 * connection (reconnect). Either side may send ERROR instead of its next
 * message and close: the reason for the peer's log.
 *
 * The receiver checks: the packet's real length against the header's
 * length and against the fixed length of the type; magic; version;
 * known type; nfds against the fds that came and against the type;
 * every reserved byte and every byte after a name's NUL zero; flags and
 * enumerations known; region fds are sockets, IRQ fds eventfds. On any
 * error it closes every fd that came with the packet, logs one line that
 * says what was wrong, and returns a negative errno:
 *
 *   -EBADMSG          bad magic, a length other than the type's (longer,
 *                     shorter, truncated), nfds not the type's or not the
 *                     fds that came (or fds lost to a short control
 *                     buffer), a reserved byte not zero, an unterminated
 *                     name, an unknown flag, an invalid region
 *   -EPROTONOSUPPORT  a version other than IOREGION_SESSION_VERSION
 *   -ENOMSG           an unknown type
 *   -EPROTO           a known message out of order, in the wrong
 *                     direction, or disagreeing with the session (a
 *                     region in another dialect than WELCOME's, a count
 *                     that does not match, a reconnect that changes
 *                     regions or lines)
 *   -ENOTSOCK         a region fd that is not a socket
 *   -EBADFD           an IRQ fd that is not an eventfd
 *   -ECONNRESET       the peer closed (EOF; a zero-length packet reads
 *                     the same)
 *   -ECONNREFUSED     the peer sent ERROR (its reason is logged)
 *   -ETIMEDOUT        the peer said nothing within the session timeout
 *
 * Bounded waits: every wait of the set-up (connect or accept to READY) is
 * bounded by one deadline, the session timeout (default
 * IOREGION_SESSION_TIMEOUT_MS_DEFAULT), and so is each request the VMM
 * sends after READY until its ACK. A peer that stops mid-session costs
 * the other side at most that.
 */
#ifndef IOREGION_SESSION_H
#define IOREGION_SESSION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOREGION_SESSION_MAGIC 0x53524f49u	/* 'I' 'O' 'R' 'S' little-endian */
#define IOREGION_SESSION_VERSION 1
#define IOREGION_SESSION_HDR_SIZE 16

/** Longest device or region name, including the terminating NUL. */
#define IOREGION_SESSION_NAME_MAX 32
/** Longest interrupt line name, including the terminating NUL. */
#define IOREGION_SESSION_LINE_NAME_MAX 24
/** Most interrupt lines one device may ask for. */
#define IOREGION_SESSION_LINES_MAX 16
/** Most regions one device may hand over. */
#define IOREGION_SESSION_REGIONS_MAX 32
/** Default bound of the set-up and of each request's answer, in ms. */
#define IOREGION_SESSION_TIMEOUT_MS_DEFAULT 5000u
/** The environment variable a device reads its socket path from. */
#define IOREGION_SESSION_ENV "IOREGION_SOCKET"

/** Message types; 0 is invalid. */
enum ioregion_session_type {
	IOREGION_SESSION_HELLO = 1,
	IOREGION_SESSION_WELCOME = 2,
	IOREGION_SESSION_REGION = 3,
	IOREGION_SESSION_REGIONS_DONE = 4,
	IOREGION_SESSION_IRQ = 5,
	IOREGION_SESSION_MEM_SLOT = 6,
	IOREGION_SESSION_READY = 7,
	IOREGION_SESSION_MEM_REMOVE = 8,
	IOREGION_SESSION_RESET = 9,
	IOREGION_SESSION_SHUTDOWN = 10,
	IOREGION_SESSION_ACK = 11,
	IOREGION_SESSION_ERROR = 12,
};

/** The header of every message. */
struct ioregion_session_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length;
	uint16_t nfds;
	uint16_t reserved;
};

/** Interrupt line triggers; 0 is invalid. */
#define IOREGION_LINE_EDGE 1	/**< a write of 1 to the eventfd is one edge */
#define IOREGION_LINE_LEVEL 2	/**< asserted until the guest's EOI, which
				     the resample eventfd reports */

/** One wanted interrupt line, 32 bytes. */
struct ioregion_session_line {
	uint32_t trigger;	/**< IOREGION_LINE_EDGE or _LEVEL */
	uint32_t reserved;
	char name[IOREGION_SESSION_LINE_NAME_MAX];	/**< NUL-terminated */
};

/** HELLO flag: the device wants guest memory (MEM_SLOT messages). */
#define IOREGION_SESSION_HELLO_F_MEMORY (1u << 0)
/** HELLO flag: the device keeps its state across a restart of its process
 * (the guest's driver finds it as the dead process left it): a VMM that
 * restarts it must not send RESET after the reconnect, which would throw
 * that state away. */
#define IOREGION_SESSION_HELLO_F_KEEPS_STATE (1u << 1)
#define IOREGION_SESSION_HELLO_F_ALL \
	(IOREGION_SESSION_HELLO_F_MEMORY | IOREGION_SESSION_HELLO_F_KEEPS_STATE)

/** HELLO body, 560 bytes: who the device is and what it wants. Lines
 * from index nlines on are all zero. */
struct ioregion_session_hello {
	char name[IOREGION_SESSION_NAME_MAX];	/**< device name, NUL-terminated */
	uint32_t flags;				/**< IOREGION_SESSION_HELLO_F_* */
	uint32_t nlines;			/**< <= IOREGION_SESSION_LINES_MAX */
	uint8_t reserved[8];
	struct ioregion_session_line lines[IOREGION_SESSION_LINES_MAX];
};

/** WELCOME flag: the VMM uses fallback channels (a kernel with
 * KVM_SET_IOREGION: KVM gets the main fd, the VMM's bridge the fallback
 * fd); every REGION then carries 2 fds, else 1. */
#define IOREGION_SESSION_WELCOME_F_FALLBACK (1u << 0)
#define IOREGION_SESSION_WELCOME_F_ALL IOREGION_SESSION_WELCOME_F_FALLBACK

/** WELCOME body, 16 bytes. */
struct ioregion_session_welcome {
	uint32_t dialect;	/**< enum ioregion_wire_dialect to speak */
	uint32_t flags;		/**< IOREGION_SESSION_WELCOME_F_* */
	uint8_t reserved[8];
};

/** REGION body, 72 bytes: struct ioregion_desc field by field, a name. */
struct ioregion_session_region {
	uint64_t addr;
	uint64_t size;
	uint64_t user_data;
	uint32_t flags;		/**< IOREGION_F_* */
	uint32_t dialect;	/**< WELCOME's dialect */
	char name[IOREGION_SESSION_NAME_MAX];	/**< NUL-terminated */
	uint8_t reserved[8];
};

/** REGIONS_DONE body, 8 bytes. */
struct ioregion_session_regions_done {
	uint32_t nregions;	/**< REGION messages sent, >= 1 */
	uint32_t reserved;
};

/** IRQ body, 16 bytes: the eventfds of one wanted line. */
struct ioregion_session_irq {
	uint32_t index;		/**< the line's index in HELLO */
	uint32_t trigger;	/**< as HELLO asked */
	uint32_t gsi;		/**< the VMM's number for it, for logs */
	uint32_t reserved;
};

/** MEM_SLOT body, 32 bytes: struct ioregion_mem_slot field by field. */
struct ioregion_session_mem_slot {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
	uint32_t flags;		/**< IOREGION_MEM_F_* */
	uint32_t reserved;
};

/** READY body, 16 bytes: what the VMM sent, for a cross-check. */
struct ioregion_session_ready {
	uint32_t nlines;	/**< IRQ messages sent: all lines HELLO asked for */
	uint32_t nslots;	/**< MEM_SLOT messages sent */
	uint8_t reserved[8];
};

/** MEM_REMOVE body, 16 bytes. */
struct ioregion_session_mem_remove {
	uint64_t gpa;		/**< the slot that starts there */
	uint64_t reserved;
};

/** RESET and SHUTDOWN body, 8 bytes, all zero. */
struct ioregion_session_empty {
	uint8_t reserved[8];
};

/** ACK body, 16 bytes: the device's answer to a request after READY. */
struct ioregion_session_ack {
	uint32_t type;		/**< what it answers: READY, MEM_SLOT,
				     MEM_REMOVE or RESET */
	int32_t result;		/**< 0 or a negative errno */
	uint8_t reserved[8];
};

/** Longest ERROR reason, including the terminating NUL. */
#define IOREGION_SESSION_REASON_MAX 56

/** ERROR body, 64 bytes: why the sender gives up; it closes next. */
struct ioregion_session_error {
	int32_t error;		/**< a positive errno */
	uint32_t reserved;
	char reason[IOREGION_SESSION_REASON_MAX];	/**< NUL-terminated */
};

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_SESSION_H */
