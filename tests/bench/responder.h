/* SPDX-License-Identifier: MIT */
/*
 * An ioregionfd responder and client written from the RFC posting alone:
 * no libioregion header, no shared code (see responder.c).
 */
#ifndef INDEP_RESPONDER_H
#define INDEP_RESPONDER_H

#include <stdint.h>

/* Serve commands from @fd until EOF or an error: reads answer with a
 * counter, writes count too; an answer goes back when the command's
 * response bit is set. */
void indep_serve(int fd);

/* @n 4-byte reads of offset 0 with @user_data, one command per write()
 * and a blocking read() of each answer. Returns 0, or -1 on a failed
 * transfer or an answer that is not the previous one plus 1. */
int indep_round_trips(int fd, uint64_t user_data, int n);

#endif
