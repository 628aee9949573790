/* mm_digest.h - a digest of each message as it streams by, to check the
 * Maildir against what was read when the mbox cannot be read again.
 *
 * mm_verify() compares the Maildir with the mbox byte for byte, reading
 * the mbox a second time; a pipe can be read only once. For it,
 * mm_convert() (with opts verify_digest) keeps the size and a 64-bit
 * digest of every message's bytes, computed while they were delivered
 * (or, for a message already there, read), and checks each file in the
 * Maildir against them once the run is done.
 *
 * The digest is not cryptographic: it finds damage, not forgery. The
 * bytes, cut into 8-byte words from the message's start, go in turn to
 * four lanes (word i to lane i % 4, so the multiplications of four
 * words overlap: several GB/s), each word through a step that is a
 * bijection of its lane's state; the lanes are then folded into one by
 * steps that are bijections of each, so damage within one word always
 * changes the result; other damage goes unseen with odds of about
 * 2^-64, and a change of size is always seen. The result does not
 * depend on how the bytes were cut into chunks. It is kept in the state
 * file and the manifest (as "mm64:..."): another algorithm would need
 * another name there.
 */
#ifndef MM_DIGEST_H
#define MM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* Its name where it is written beside others' (the manifest). */
#define MM_DIGEST_NAME "mm64"

struct mm_digest {
	uint64_t h[4], n;       /* the lanes, bytes so far */
	unsigned char tail[32]; /* bytes not yet a whole block of 4 words */
	unsigned ntail;
};

void mm_digest_init(struct mm_digest *d);
void mm_digest_add(struct mm_digest *d, const void *p, size_t len);
/* The digest of the bytes added (d is left as it was). */
uint64_t mm_digest_final(const struct mm_digest *d);

/* Digest and size of what can be read from fd (from where it is).
 * 0, or -1 with errno. */
int mm_digest_fd(int fd, uint64_t *digest_r, uint64_t *size_r);

/* What was read of one message. */
struct mm_digest_rec {
	uint64_t key;           /* its Maildir key (mm_maildir.h) */
	uint64_t digest, size;
	unsigned long msgno;
	uint64_t offset;
};

/* A growing list of them; zero it to start. */
struct mm_digest_list {
	struct mm_digest_rec *items;
	size_t len, cap;
};

/* Append a copy of rec. 0, or -1 when out of memory. */
int mm_digest_list_add(struct mm_digest_list *l,
		       const struct mm_digest_rec *rec);
void mm_digest_list_free(struct mm_digest_list *l);

#endif
