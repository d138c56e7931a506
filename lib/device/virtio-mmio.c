/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, register layout version 2: the registers,
 * feature negotiation, the device status state machine and the interrupt
 * status that drives the device's line. The rings are in virtqueue.c.
 *
 * Status: the driver only adds bits (or writes 0 to reset). A bit out of
 * order (DRIVER before ACKNOWLEDGE, FEATURES_OK before DRIVER, DRIVER_OK
 * before FEATURES_OK), a cleared bit or DEVICE_NEEDS_RESET (the device's
 * to set) is dropped and counted; FEATURES_OK is kept only if the
 * driver's features are a subset of the device's and include VERSION_1,
 * so the driver's re-read tells it the answer.
 */
#include "ioregion-private.h"
#include "virtio-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"

#define ST_ACK IOREGION_VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRIVER IOREGION_VIRTIO_STATUS_DRIVER
#define ST_DRIVER_OK IOREGION_VIRTIO_STATUS_DRIVER_OK
#define ST_FEATURES_OK IOREGION_VIRTIO_STATUS_FEATURES_OK
#define ST_NEEDS_RESET IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define ST_FAILED IOREGION_VIRTIO_STATUS_FAILED

bool
virtio_config_ok(const struct ioregion_virtio_mmio_config *cfg)
{
	unsigned i;

	for (i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
		if (cfg->reserved[i])
			return false;
	return cfg->device_id != 0 && cfg->reserved0 == 0 &&
	       (cfg->features & IOREGION_VIRTIO_F_VERSION_1) &&
	       !(cfg->features & IOREGION_VIRTIO_F_UNSUPPORTED) &&
	       cfg->nqueues >= 1 &&
	       cfg->nqueues <= IOREGION_VIRTIO_MMIO_QUEUES_MAX &&
	       cfg->queue_max >= 1 && cfg->queue_max <= IOREGION_VIRTQ_SIZE_MAX &&
	       cfg->config_size <= IOREGION_VIRTIO_MMIO_CONFIG_MAX;
}

IOREGION_EXPORT int
ioregion_virtio_mmio_new(const struct ioregion_virtio_mmio_config *cfg,
			 struct ioregion_mem *mem, struct ioregion_irq *irq,
			 struct ioregion_virtio_mmio **vmp)
{
	struct ioregion_virtio_mmio *vm;
	unsigned i;

	if (vmp)
		*vmp = NULL;
	if (!cfg || !mem || !irq || !vmp || !virtio_config_ok(cfg))
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->queues = calloc(cfg->nqueues, sizeof(*vm->queues));
	/* the state in memory of our own until the device gives an area */
	vm->own_state = calloc(1, vstate_size(cfg));
	if (!vm->queues || !vm->own_state) {
		free(vm->queues);
		free(vm->own_state);
		free(vm);
		return -ENOMEM;
	}
	vm->cfg = *cfg;
	for (i = 0; i < cfg->nqueues; i++) {
		vm->queues[i].vm = vm;
		virtq_reset(&vm->queues[i]);
	}
	vstate_init(vm, vm->own_state);
	if (cfg->ops)
		vm->ops = *cfg->ops;
	vm->mem = ioregion_mem_ref(mem);
	vm->irq = irq;
	*vmp = vm;
	return 0;
}

IOREGION_EXPORT void
ioregion_virtio_mmio_destroy(struct ioregion_virtio_mmio *vm)
{
	if (!vm)
		return;
	/* nothing is stored in the state area: a restart finds it as the
	 * last access left it */
	free(vm->own_state);
	free(vm->queues);
	ioregion_mem_unref(vm->mem);
	free(vm);
}

int
virtio_mmio_interrupt(struct ioregion_virtio_mmio *vm, uint32_t bits)
{
	if (!vm->isr)
		vm->stats.interrupts++;
	vm->isr |= bits;
	vstate_save_isr(vm);
	return ioregion_irq_set(vm->irq, true);
}

IOREGION_EXPORT int
ioregion_virtio_mmio_needs_reset(struct ioregion_virtio_mmio *vm)
{
	if (!vm)
		return -EINVAL;
	vm->status |= ST_NEEDS_RESET;
	vstate_save(vm);
	if (vm->status & ST_DRIVER_OK)
		return virtio_mmio_interrupt(vm, IOREGION_VIRTIO_INT_CONFIG);
	return 0;
}

IOREGION_EXPORT int
ioregion_virtio_mmio_config_changed(struct ioregion_virtio_mmio *vm)
{
	if (!vm)
		return -EINVAL;
	vm->config_generation++;
	vstate_save(vm);
	if (vm->status & ST_DRIVER_OK)
		return virtio_mmio_interrupt(vm, IOREGION_VIRTIO_INT_CONFIG);
	return 0;
}

void
virtio_mmio_clear(struct ioregion_virtio_mmio *vm)
{
	vm->status = 0;
	vm->isr = 0;
	vm->device_features_sel = 0;
	vm->driver_features_sel = 0;
	vm->driver_features = 0;
	vm->driver_features_extra = false;
	vm->queue_sel = 0;
	vm->config_generation = 0;
	for (unsigned i = 0; i < vm->cfg.nqueues; i++)
		virtq_reset(&vm->queues[i]);
}

static void
device_reset(struct ioregion_virtio_mmio *vm)
{
	uint32_t gen = vm->config_generation;

	virtio_mmio_clear(vm);
	vm->config_generation = gen;
	/* the registers first: a restart then forgets the rings' progress */
	vstate_save(vm);
	vstate_save_isr(vm);
	for (unsigned i = 0; i < vm->cfg.nqueues; i++)
		virtq_clear(&vm->queues[i]);
	ioregion_irq_set(vm->irq, false);
	vm->stats.resets++;
	if (vm->ops.reset)
		vm->ops.reset(vm);
}

static void
status_write(struct ioregion_virtio_mmio *vm, uint32_t val)
{
	uint32_t old = vm->status, add = val & ~old, next = old;
	uint64_t drv = vm->driver_features;

	if (val == 0) {
		device_reset(vm);
		return;
	}
	/* in order, so one write may carry several steps */
	if (add & ST_ACK)
		next |= ST_ACK;
	if ((add & ST_DRIVER) && (next & ST_ACK))
		next |= ST_DRIVER;
	if ((add & ST_FEATURES_OK) && (next & ST_DRIVER)) {
		if (vm->driver_features_extra || (drv & ~vm->cfg.features) ||
		    !(drv & IOREGION_VIRTIO_F_VERSION_1))
			vm->stats.refused_features++;
		else
			next |= ST_FEATURES_OK;
	}
	if ((add & ST_DRIVER_OK) && (next & ST_FEATURES_OK))
		next |= ST_DRIVER_OK;
	if (add & ST_FAILED)
		next |= ST_FAILED;
	/* a bit dropped, or one the driver tried to clear */
	if (next != (val | old) || (old & ~val & ~ST_NEEDS_RESET))
		vm->stats.bad_accesses++;
	vm->status = next;
	vstate_save(vm);
}

static void
ack_write(struct ioregion_virtio_mmio *vm, uint32_t val)
{
	vm->isr &= ~val;
	vstate_save_isr(vm);
	/* an edge line needs a new edge for what is still pending */
	ioregion_irq_set(vm->irq, false);
	if (vm->isr)
		ioregion_irq_set(vm->irq, true);
}

static struct ioregion_virtq *
cur_queue(struct ioregion_virtio_mmio *vm)
{
	return vm->queue_sel < vm->cfg.nqueues ? &vm->queues[vm->queue_sel] : NULL;
}

/* Queue setup registers: only on a queue that exists and is not ready. */
static void
queue_setup_write(struct ioregion_virtio_mmio *vm, uint64_t offset, uint32_t val)
{
	struct ioregion_virtq *vq = cur_queue(vm);
	uint64_t *addr;

	if (!vq || vq->ready) {
		vm->stats.bad_accesses++;
		return;
	}
	switch (offset) {
	case IOREGION_VIRTIO_MMIO_QUEUE_NUM:
		vq->num = val;
		vstate_save(vm);
		return;
	case IOREGION_VIRTIO_MMIO_QUEUE_DESC_LOW:
	case IOREGION_VIRTIO_MMIO_QUEUE_DESC_HIGH:
		addr = &vq->desc;
		break;
	case IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		addr = &vq->avail;
		break;
	default:
		addr = &vq->used;
		break;
	}
	if (offset & 4)
		*addr = (*addr & 0xffffffffu) | (uint64_t)val << 32;
	else
		*addr = (*addr & ~(uint64_t)0xffffffffu) | val;
	vstate_save(vm);
}

static void
queue_ready_write(struct ioregion_virtio_mmio *vm, uint32_t val)
{
	struct ioregion_virtq *vq = cur_queue(vm);

	if (!vq) {
		vm->stats.bad_accesses++;
		return;
	}
	if (!val) {
		/* not ready in the area first: a restart forgets the rest */
		vq->ready = false;
		vstate_save(vm);
		virtq_clear(vq);
		return;
	}
	if (vq->ready)
		return;
	if (virtq_check_rings(vq) < 0) {
		vm->stats.bad_accesses++;
		ioregion_virtio_mmio_needs_reset(vm);
		return;
	}
	vq->ready = true;
	vstate_save(vm);
}

static void
queue_notify_write(struct ioregion_virtio_mmio *vm, uint32_t val)
{
	if (val >= vm->cfg.nqueues || virtq_live(&vm->queues[val]) < 0) {
		vm->stats.bad_accesses++;
		return;
	}
	vm->stats.notifies++;
	if (vm->ops.notify)
		vm->ops.notify(vm, val);
}

static int
config_access(struct ioregion_virtio_mmio *vm, uint64_t offset, unsigned size)
{
	uint64_t off = offset - IOREGION_VIRTIO_MMIO_CONFIG;

	if ((size != 1 && size != 2 && size != 4 && size != 8) ||
	    (offset & (size - 1)) || off >= vm->cfg.config_size ||
	    size > vm->cfg.config_size - off)
		return -EINVAL;
	return 0;
}

/* A device-config access: checked, then the device's callback (none:
 * reads 0, writes ignored). A refused access or a failing callback is
 * counted. */
static int
config_rw(struct ioregion_virtio_mmio *vm, uint64_t offset, unsigned size,
	  uint64_t *val, bool write)
{
	uint32_t off = (uint32_t)(offset - IOREGION_VIRTIO_MMIO_CONFIG);
	int rc = 0;

	if (config_access(vm, offset, size) < 0) {
		vm->stats.bad_accesses++;
		return -EINVAL;
	}
	if (!write) {
		*val = 0;
		if (vm->ops.config_read)
			rc = vm->ops.config_read(vm, off, size, val);
	} else if (vm->ops.config_write) {
		rc = vm->ops.config_write(vm, off, size, *val);
	}
	if (rc < 0)
		vm->stats.bad_accesses++;
	return rc < 0 ? rc : 0;
}

static uint32_t
feature_word(uint64_t features, uint32_t sel)
{
	return sel == 0 ? (uint32_t)features :
	       sel == 1 ? (uint32_t)(features >> 32) : 0;
}

IOREGION_EXPORT int
ioregion_virtio_mmio_read(struct ioregion_virtio_mmio *vm, uint64_t offset,
			  unsigned size, uint64_t *val)
{
	struct ioregion_virtq *vq;

	if (!vm || !val)
		return -EINVAL;
	vm->touched = true;
	if (offset >= IOREGION_VIRTIO_MMIO_CONFIG)
		return config_rw(vm, offset, size, val, false);
	if (size != 4 || (offset & 3))
		goto bad;
	vq = cur_queue(vm);
	switch (offset) {
	case IOREGION_VIRTIO_MMIO_MAGIC_VALUE:
		*val = IOREGION_VIRTIO_MMIO_MAGIC;
		return 0;
	case IOREGION_VIRTIO_MMIO_VERSION:
		*val = 2;
		return 0;
	case IOREGION_VIRTIO_MMIO_DEVICE_ID:
		*val = vm->cfg.device_id;
		return 0;
	case IOREGION_VIRTIO_MMIO_VENDOR_ID:
		*val = vm->cfg.vendor_id;
		return 0;
	case IOREGION_VIRTIO_MMIO_DEVICE_FEATURES:
		*val = feature_word(vm->cfg.features, vm->device_features_sel);
		return 0;
	case IOREGION_VIRTIO_MMIO_QUEUE_NUM_MAX:
		*val = vq ? vm->cfg.queue_max : 0;
		return 0;
	case IOREGION_VIRTIO_MMIO_QUEUE_READY:
		*val = vq && vq->ready;
		return 0;
	case IOREGION_VIRTIO_MMIO_INTERRUPT_STATUS:
		*val = vm->isr;
		return 0;
	case IOREGION_VIRTIO_MMIO_STATUS:
		*val = vm->status;
		return 0;
	case IOREGION_VIRTIO_MMIO_CONFIG_GENERATION:
		*val = vm->config_generation;
		return 0;
	default:
		break;
	}
bad:
	vm->stats.bad_accesses++;
	return -EINVAL;
}

IOREGION_EXPORT int
ioregion_virtio_mmio_write(struct ioregion_virtio_mmio *vm, uint64_t offset,
			   unsigned size, uint64_t val64)
{
	uint32_t val = (uint32_t)val64;

	if (!vm)
		return -EINVAL;
	vm->touched = true;
	if (offset >= IOREGION_VIRTIO_MMIO_CONFIG)
		return config_rw(vm, offset, size, &val64, true);
	if (size != 4 || (offset & 3))
		goto bad;
	switch (offset) {
	case IOREGION_VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vm->device_features_sel = val;
		vstate_save(vm);
		return 0;
	case IOREGION_VIRTIO_MMIO_DRIVER_FEATURES:
		if (vm->status & (ST_FEATURES_OK | ST_FAILED)) {
			vm->stats.bad_accesses++;
			return 0;
		}
		if (vm->driver_features_sel == 0)
			vm->driver_features = (vm->driver_features &
				~(uint64_t)0xffffffffu) | val;
		else if (vm->driver_features_sel == 1)
			vm->driver_features = (vm->driver_features &
				0xffffffffu) | (uint64_t)val << 32;
		else if (val)
			vm->driver_features_extra = true;
		vstate_save(vm);
		return 0;
	case IOREGION_VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vm->driver_features_sel = val;
		vstate_save(vm);
		return 0;
	case IOREGION_VIRTIO_MMIO_QUEUE_SEL:
		vm->queue_sel = val;
		vstate_save(vm);
		return 0;
	case IOREGION_VIRTIO_MMIO_QUEUE_NUM:
	case IOREGION_VIRTIO_MMIO_QUEUE_DESC_LOW:
	case IOREGION_VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case IOREGION_VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case IOREGION_VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		queue_setup_write(vm, offset, val);
		return 0;
	case IOREGION_VIRTIO_MMIO_QUEUE_READY:
		queue_ready_write(vm, val);
		return 0;
	case IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY:
		queue_notify_write(vm, val);
		return 0;
	case IOREGION_VIRTIO_MMIO_INTERRUPT_ACK:
		ack_write(vm, val);
		return 0;
	case IOREGION_VIRTIO_MMIO_STATUS:
		status_write(vm, val);
		return 0;
	default:
		break;
	}
bad:
	vm->stats.bad_accesses++;
	return -EINVAL;
}

static int
region_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	    uint64_t *val)
{
	return ioregion_virtio_mmio_read(ioregion_region_get_userdata(region),
					 offset, size, val);
}

static int
region_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	     uint64_t val)
{
	return ioregion_virtio_mmio_write(ioregion_region_get_userdata(region),
					  offset, size, val);
}

static const struct ioregion_region_ops virtio_mmio_region_ops = {
	.read = region_read,
	.write = region_write,
};

IOREGION_EXPORT const struct ioregion_region_ops *
ioregion_virtio_mmio_region_ops(void)
{
	return &virtio_mmio_region_ops;
}

/* The same callbacks for a window split in three: each adds the offset
 * of its range (ioregion_virtio_mmio_ranges()). */
#define NOTIFY_END (IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY + 4)

static int
notify_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	    uint64_t *val)
{
	return region_read(region, IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY + offset,
			   size, val);
}

static int
notify_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	     uint64_t val)
{
	return region_write(region, IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY + offset,
			    size, val);
}

static int
upper_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	   uint64_t *val)
{
	return region_read(region, NOTIFY_END + offset, size, val);
}

static int
upper_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	    uint64_t val)
{
	return region_write(region, NOTIFY_END + offset, size, val);
}

static const struct ioregion_region_ops notify_region_ops = {
	.read = notify_read,
	.write = notify_write,
};

static const struct ioregion_region_ops upper_region_ops = {
	.read = upper_read,
	.write = upper_write,
};

IOREGION_EXPORT int
ioregion_virtio_mmio_ranges(uint64_t window_size,
			    struct ioregion_virtio_mmio_range *ranges)
{
	if (!ranges || window_size < IOREGION_VIRTIO_MMIO_CONFIG ||
	    window_size > IOREGION_VIRTIO_MMIO_CONFIG +
			  IOREGION_VIRTIO_MMIO_CONFIG_MAX)
		return -EINVAL;
	ranges[0] = (struct ioregion_virtio_mmio_range){
		.offset = 0, .size = IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY,
		.ops = &virtio_mmio_region_ops,
	};
	ranges[1] = (struct ioregion_virtio_mmio_range){
		.offset = IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY, .size = 4,
		.flags = IOREGION_F_POSTED_WRITES, .ops = &notify_region_ops,
	};
	ranges[2] = (struct ioregion_virtio_mmio_range){
		.offset = NOTIFY_END, .size = window_size - NOTIFY_END,
		.ops = &upper_region_ops,
	};
	return IOREGION_VIRTIO_MMIO_NRANGES;
}

IOREGION_EXPORT void *
ioregion_virtio_mmio_get_userdata(struct ioregion_virtio_mmio *vm)
{
	return vm ? vm->cfg.userdata : NULL;
}

IOREGION_EXPORT uint32_t
ioregion_virtio_mmio_get_status(const struct ioregion_virtio_mmio *vm)
{
	return vm ? vm->status : 0;
}

IOREGION_EXPORT uint64_t
ioregion_virtio_mmio_get_features(const struct ioregion_virtio_mmio *vm)
{
	return vm ? vm->driver_features : 0;
}

IOREGION_EXPORT struct ioregion_virtq *
ioregion_virtio_mmio_queue(struct ioregion_virtio_mmio *vm, unsigned index)
{
	return vm && index < vm->cfg.nqueues ? &vm->queues[index] : NULL;
}

IOREGION_EXPORT int
ioregion_virtio_mmio_get_stats(const struct ioregion_virtio_mmio *vm,
			       struct ioregion_virtio_mmio_stats *stats)
{
	if (!vm || !stats)
		return -EINVAL;
	*stats = vm->stats;
	return 0;
}
