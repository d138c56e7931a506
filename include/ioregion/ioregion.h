/* SPDX-License-Identifier: MIT */
/* libioregion umbrella header: everything. VMM-side code that must not see
 * libev includes the component headers (wire, desc, kvm, bridge, handoff,
 * session, vmm) instead. */
#ifndef IOREGION_IOREGION_H
#define IOREGION_IOREGION_H

#include "ioregion/version.h"
#include "ioregion/wire.h"
#include "ioregion/desc.h"
#include "ioregion/log.h"
#include "ioregion/server.h"
#include "ioregion/memory.h"
#include "ioregion/irq.h"
#include "ioregion/kvm.h"
#include "ioregion/bridge.h"
#include "ioregion/handoff.h"
#include "ioregion/session.h"
#include "ioregion/device.h"
#include "ioregion/vmm.h"

#endif /* IOREGION_IOREGION_H */
