/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_STORE_H
#define PODGW_PROVISIOND_STORE_H

/* Idempotency: the answer given to each event, keyed by its source and id
 * (CloudEvents: the pair identifies an event; a broker redelivers with the
 * same pair). Bounded: the oldest answers are forgotten first. Thread-safe;
 * a redelivery that arrives while the first delivery is still being handled
 * waits for that answer instead of creating a second crawler. */

#define PV_ANSWER_TYPE_MAX 64

struct pv_answer {
	char type[PV_ANSWER_TYPE_MAX];
	char *data_json; /* malloc'd */
};

struct pv_store;

int pv_store_new(unsigned capacity, struct pv_store **out);
void pv_store_free(struct pv_store *s);

/* Returns 1 with a copy of the stored answer, or 0 when the caller now owns
 * the event and must end with pv_store_finish or pv_store_abandon, or
 * -ETIMEDOUT (another delivery held it for wait_s seconds), -EBUSY (every
 * slot is in progress) or -ENOMEM. */
int pv_store_claim(struct pv_store *s, const char *source, const char *id, unsigned wait_s,
		   struct pv_answer *out);
/* Keeps the answer for redeliveries (copied). */
int pv_store_finish(struct pv_store *s, const char *source, const char *id,
		    const struct pv_answer *a);
/* Forgets the claim: the next delivery tries again. */
void pv_store_abandon(struct pv_store *s, const char *source, const char *id);

void pv_answer_clear(struct pv_answer *a);

#endif
