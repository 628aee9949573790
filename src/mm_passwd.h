/* mm_passwd.h - password hashes of the old server, through libxcrypt.
 *
 * sendmail-list carries each account's crypt() hash unchanged to the new
 * server: vpopmail and Dovecot's {CRYPT} check logins with the system
 * crypt(), so a hash keeps working exactly when the new machine's
 * libxcrypt knows its scheme. What matters about a hash is therefore
 * which scheme made it, whether this machine can check a password
 * against it, and whether the scheme is weak. This module answers that
 * (mm_pw_classify), checks a password (mm_pw_verify) and makes new hashes
 * with libxcrypt's preferred method (mm_pw_hash).
 *
 * Hashes and passwords are byte strings with a length: an embedded NUL
 * never reaches crypt() (a hash with one is malformed, a password with
 * one is refused). No function keeps state or uses crypt()'s static
 * buffers, so all are thread-safe. Nothing is printed, nothing aborts.
 */
#ifndef MM_PASSWD_H
#define MM_PASSWD_H

#include <stddef.h>

#include "mm_err.h"

/* Longest hash (NUL included) the functions accept or produce; the same
 * as libxcrypt's CRYPT_OUTPUT_SIZE, which crypt() never exceeds. */
#define MM_PW_HASH_MAX 384
/* Longest password (NUL included) libxcrypt accepts. */
#define MM_PW_PASSWORD_MAX 512

enum mm_pw_scheme {
	MM_PW_UNKNOWN = 0,   /* no scheme recognised: 'x', garbage, future */
	MM_PW_EMPTY,         /* "": no password at all */
	MM_PW_LOCKED,        /* starts with '!' or '*' (usermod -L, "*", "*LK*") */
	MM_PW_DES,           /* traditional 13-character DES crypt */
	MM_PW_BSDI,          /* BSDi extended DES, "_" */
	MM_PW_MD5,           /* MD5-crypt, "$1$" */
	MM_PW_BCRYPT_2,      /* original OpenBSD bcrypt, "$2$" */
	MM_PW_BCRYPT_2A,     /* "$2a$" */
	MM_PW_BCRYPT_2B,     /* "$2b$" (current) */
	MM_PW_BCRYPT_2X,     /* "$2x$": old crypt_blowfish's 8-bit bug */
	MM_PW_BCRYPT_2Y,     /* "$2y$": crypt_blowfish, bug fixed */
	MM_PW_SHA256,        /* SHA-256-crypt, "$5$" */
	MM_PW_SHA512,        /* SHA-512-crypt, "$6$" */
	MM_PW_YESCRYPT,      /* "$y$" */
	MM_PW_GOST_YESCRYPT, /* "$gy$" */
	MM_PW_SCRYPT,        /* "$7$" */
	MM_PW_SUNMD5,        /* Solaris MD5, "$md5$" or "$md5," */
	MM_PW_SHA1,          /* NetBSD PBKDF1-SHA1, "$sha1$" */
	MM_PW_NT,            /* NT hash (unsalted MD4), "$3$$" */
};
#define MM_PW_SCHEME_COUNT (MM_PW_NT + 1)

/* What this machine's libxcrypt says of a hash (crypt_checksalt()). */
enum mm_pw_support {
	MM_PW_SUPPORTED = 0, /* CRYPT_SALT_OK */
	MM_PW_INVALID,       /* CRYPT_SALT_INVALID: unknown or disabled here */
	MM_PW_DISABLED,      /* CRYPT_SALT_METHOD_DISABLED */
	MM_PW_LEGACY,        /* CRYPT_SALT_METHOD_LEGACY: works, discouraged */
	MM_PW_TOO_CHEAP,     /* CRYPT_SALT_TOO_CHEAP */
	MM_PW_NOT_ASKED,     /* not asked: empty, locked or malformed hash */
};

struct mm_pw_info {
	enum mm_pw_scheme scheme;
	/* For MM_PW_LOCKED: the scheme of the hash behind the lock marks
	 * ("!$6$..." -> MM_PW_SHA512), MM_PW_EMPTY if there is none ("*",
	 * "!!"). MM_PW_UNKNOWN for other schemes. */
	enum mm_pw_scheme locked_scheme;
	int well_formed;  /* has the exact shape of a complete hash of scheme */
	enum mm_pw_support support;
	int can_verify;   /* well formed and this machine's crypt() takes it */
	int legacy;       /* libxcrypt calls the method legacy */
	int weak;         /* a known weakness, described by note */
	const char *note; /* static text, or NULL: why the scheme is weak or
			   * legacy ("DES uses only the first 8 characters of
			   * the password") */
};

/* Stable short name of a scheme ("sha512", "bcrypt-2b", "locked", ...),
 * and back: mm_pw_scheme_parse returns -1 for an unknown name. */
const char *mm_pw_scheme_name(enum mm_pw_scheme scheme);
int mm_pw_scheme_parse(const char *name, enum mm_pw_scheme *scheme_r);

/* Name of a support level ("ok", "invalid", "legacy", ...). */
const char *mm_pw_support_name(enum mm_pw_support support);

/* The prefix crypt_gensalt() takes to make hashes of scheme ("$6$"),
 * or NULL when there is none (empty, locked, unknown, "$2$"). DES is
 * "" (libxcrypt's spelling). */
const char *mm_pw_scheme_prefix(enum mm_pw_scheme scheme);

/* Classify the len bytes of hash into *info_r. Cheap: no hashing is
 * done, only the shape is checked and crypt_checksalt() asked. Returns
 * 0, or -1 (MM_E_USAGE) if hash or info_r is NULL. */
int mm_pw_classify(const char *hash, size_t len, struct mm_pw_info *info_r,
		   struct mm_err *err_r);

/* Check a password against a hash with crypt_rn() and a constant-time
 * comparison. Returns 1 on a match, 0 on a mismatch -- also for empty
 * and locked hashes, which never match --, and -1 (err_r filled) when
 * the password has a NUL byte or is too long (MM_E_USAGE) or this
 * machine's crypt() cannot use the hash (MM_E_FORMAT). The cost is the
 * hash's own: a hash with a huge cost takes that long. */
int mm_pw_verify(const char *password, size_t pwlen, const char *hash,
		 size_t hlen, struct mm_err *err_r);

/* Hash a password with a fresh random salt. prefix chooses the method
 * ("$6$", "$2b$", ...; NULL means libxcrypt's preferred one, "" means
 * DES), count its cost (0: the method's default). The hash is written to
 * hash_r, NUL-terminated; size must be at least MM_PW_HASH_MAX. Returns
 * the hash's length, or -1 (err_r filled: MM_E_USAGE for an unsupported
 * prefix, a bad count or password, MM_E_IO if no random bytes). */
int mm_pw_hash(const char *password, size_t pwlen, const char *prefix,
	       unsigned long count, char *hash_r, size_t size,
	       struct mm_err *err_r);

/* Prefix of libxcrypt's preferred method ("$y$" on Debian 12); static
 * string, never NULL (falls back to "$6$"). */
const char *mm_pw_preferred_method(void);

#endif
