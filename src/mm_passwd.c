/* mm_passwd.c - classify, verify and make crypt() hashes via libxcrypt.
 *
 * Classification is by shape, not by asking crypt() to hash: it must be
 * cheap for thousands of accounts, and a hash's cost parameter is data
 * from the old server (bcrypt "$2b$31$" takes hours). crypt_checksalt()
 * then says whether this machine's libxcrypt takes the method. It only
 * looks at the setting, so the shape check is what catches truncated or
 * garbled hashes: a hash that fails it can never match any password.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm_passwd.h"

struct scheme_def {
	enum mm_pw_scheme scheme;
	const char *name;
	const char *prefix;  /* how hashes start; NULL: not by a prefix */
	const char *gensalt; /* prefix crypt_gensalt() takes, or NULL */
	size_t sum_len;      /* checksum length after the last '$' */
	int weak;
	const char *note;
};

/* Indexed by enum mm_pw_scheme. */
static const struct scheme_def schemes[MM_PW_SCHEME_COUNT] = {
	{ MM_PW_UNKNOWN, "unknown", NULL, NULL, 0, 0, NULL },
	{ MM_PW_EMPTY, "empty", NULL, NULL, 0, 1,
	  "an empty hash means no password: anyone could log in" },
	{ MM_PW_LOCKED, "locked", NULL, NULL, 0, 0, NULL },
	{ MM_PW_DES, "des", NULL, "", 0, 1,
	  "DES uses only the first 8 characters of the password" },
	{ MM_PW_BSDI, "bsdi", "_", "_", 0, 1,
	  "BSDi extended DES is DES-based and fast to brute-force" },
	{ MM_PW_MD5, "md5", "$1$", "$1$", 22, 1,
	  "MD5-crypt is fast to brute-force" },
	{ MM_PW_BCRYPT_2, "bcrypt-2", "$2$", NULL, 53, 1,
	  "original bcrypt ($2$) is obsolete and rarely supported" },
	{ MM_PW_BCRYPT_2A, "bcrypt-2a", "$2a$", "$2a$", 53, 0, NULL },
	{ MM_PW_BCRYPT_2B, "bcrypt", "$2b$", "$2b$", 53, 0, NULL },
	{ MM_PW_BCRYPT_2X, "bcrypt-2x", "$2x$", NULL, 53, 1,
	  "$2x$ marks hashes of the old crypt_blowfish 8-bit character bug" },
	{ MM_PW_BCRYPT_2Y, "bcrypt-2y", "$2y$", "$2y$", 53, 0, NULL },
	{ MM_PW_SHA256, "sha256", "$5$", "$5$", 43, 0, NULL },
	{ MM_PW_SHA512, "sha512", "$6$", "$6$", 86, 0, NULL },
	{ MM_PW_YESCRYPT, "yescrypt", "$y$", "$y$", 43, 0, NULL },
	{ MM_PW_GOST_YESCRYPT, "gost-yescrypt", "$gy$", "$gy$", 43, 0, NULL },
	{ MM_PW_SCRYPT, "scrypt", "$7$", "$7$", 43, 0, NULL },
	{ MM_PW_SUNMD5, "sunmd5", "$md5", "$md5", 22, 1,
	  "SunMD5 is MD5-based" },
	{ MM_PW_SHA1, "sha1crypt", "$sha1$", "$sha1$", 28, 0, NULL },
	{ MM_PW_NT, "nt", "$3$$", "$3$", 32, 1,
	  "NT hashes are unsalted MD4: fast to brute-force" },
};

const char *mm_pw_scheme_name(enum mm_pw_scheme scheme)
{
	if ((unsigned)scheme >= MM_PW_SCHEME_COUNT)
		return "unknown";
	return schemes[scheme].name;
}

int mm_pw_scheme_parse(const char *name, enum mm_pw_scheme *scheme_r)
{
	unsigned i;

	if (name == NULL)
		return -1;
	for (i = 0; i < MM_PW_SCHEME_COUNT; i++) {
		if (strcmp(name, schemes[i].name) == 0) {
			*scheme_r = schemes[i].scheme;
			return 0;
		}
	}
	return -1;
}

const char *mm_pw_support_name(enum mm_pw_support support)
{
	switch (support) {
	case MM_PW_SUPPORTED: return "ok";
	case MM_PW_INVALID: return "invalid";
	case MM_PW_DISABLED: return "disabled";
	case MM_PW_LEGACY: return "legacy";
	case MM_PW_TOO_CHEAP: return "too-cheap";
	case MM_PW_NOT_ASKED: return "not-asked";
	}
	return "unknown";
}

const char *mm_pw_scheme_prefix(enum mm_pw_scheme scheme)
{
	if ((unsigned)scheme >= MM_PW_SCHEME_COUNT)
		return NULL;
	return schemes[scheme].gensalt;
}

const char *mm_pw_preferred_method(void)
{
	const char *p = crypt_preferred_method();

	return p != NULL ? p : "$6$";
}

/* The crypt base-64 alphabet, which bcrypt shares (in another order). */
static int is_b64(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '/';
}

static int all_b64(const char *s, size_t n)
{
	while (n--)
		if (!is_b64(*s++))
			return 0;
	return 1;
}

/* Which scheme the bytes claim to be, by prefix alone. */
static enum mm_pw_scheme scheme_of(const char *h, size_t len)
{
	unsigned i;

	if (len == 0)
		return MM_PW_EMPTY;
	if (h[0] == '!' || h[0] == '*')
		return MM_PW_LOCKED;
	for (i = 0; i < MM_PW_SCHEME_COUNT; i++) {
		const char *p = schemes[i].prefix;
		size_t plen;

		if (p == NULL)
			continue;
		plen = strlen(p);
		/* "$md5" must be followed by '$' or ',' ("$md5x" is not) */
		if (len > plen && memcmp(h, p, plen) == 0 &&
		    (schemes[i].scheme != MM_PW_SUNMD5 || h[plen] == '$' ||
		     h[plen] == ','))
			return schemes[i].scheme;
	}
	/* Nothing else may look like DES: 'x' (shadowed) is not a hash. */
	if (len == 13 && all_b64(h, len))
		return MM_PW_DES;
	return MM_PW_UNKNOWN;
}

/* Does h have the exact shape of a complete hash of its scheme? */
static int shape_ok(enum mm_pw_scheme s, const char *h, size_t len)
{
	const struct scheme_def *d = &schemes[s];
	size_t plen, i, last;

	switch (s) {
	case MM_PW_UNKNOWN: case MM_PW_EMPTY: case MM_PW_LOCKED:
		return 0;
	case MM_PW_DES:
		return len == 13 && all_b64(h, len);
	case MM_PW_BSDI:
		return len == 20 && all_b64(h + 1, 19);
	case MM_PW_NT:
		if (len != 4 + d->sum_len)
			return 0;
		for (i = 4; i < len; i++)
			if (!((h[i] >= '0' && h[i] <= '9') ||
			      (h[i] >= 'a' && h[i] <= 'f')))
				return 0;
		return 1;
	default:
		break;
	}
	plen = strlen(d->prefix);
	for (last = len; last > 0 && h[last - 1] != '$'; last--)
		;
	/* a '$' after the prefix ends the setting; the checksum follows */
	if (last == 0 || last - 1 < plen ||
	    len - last != d->sum_len || !all_b64(h + last, len - last))
		return 0;
	for (i = plen; i < last; i++)
		if (!is_b64(h[i]) && h[i] != '$' && h[i] != ',' && h[i] != '=')
			return 0;
	if (s >= MM_PW_BCRYPT_2 && s <= MM_PW_BCRYPT_2Y) {
		/* "$2b$" NN "$" then 22 salt + 31 hash characters */
		if (len != plen + 3 + d->sum_len || h[plen] < '0' ||
		    h[plen] > '3' || h[plen + 1] < '0' || h[plen + 1] > '9' ||
		    h[plen + 2] != '$')
			return 0;
		i = (size_t)(h[plen] - '0') * 10 + (size_t)(h[plen + 1] - '0');
		return i >= 4 && i <= 31;
	}
	return 1;
}

static enum mm_pw_support support_of(const char *h, size_t len)
{
	char z[MM_PW_HASH_MAX];

	if (len >= sizeof(z))
		return MM_PW_INVALID;
	memcpy(z, h, len);
	z[len] = '\0';
	switch (crypt_checksalt(z)) {
	case CRYPT_SALT_OK: return MM_PW_SUPPORTED;
	case CRYPT_SALT_METHOD_DISABLED: return MM_PW_DISABLED;
	case CRYPT_SALT_METHOD_LEGACY: return MM_PW_LEGACY;
	case CRYPT_SALT_TOO_CHEAP: return MM_PW_TOO_CHEAP;
	default: return MM_PW_INVALID;
	}
}

int mm_pw_classify(const char *hash, size_t len, struct mm_pw_info *info_r,
		   struct mm_err *err_r)
{
	enum mm_pw_scheme s;

	if (hash == NULL || info_r == NULL)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "mm_pw_classify: NULL argument");
	memset(info_r, 0, sizeof(*info_r));
	info_r->support = MM_PW_NOT_ASKED;
	info_r->locked_scheme = MM_PW_UNKNOWN;
	if (memchr(hash, '\0', len) != NULL) {
		info_r->scheme = MM_PW_UNKNOWN;
		return 0;
	}
	s = scheme_of(hash, len);
	info_r->scheme = s;
	info_r->weak = schemes[s].weak;
	info_r->note = schemes[s].note;
	if (s == MM_PW_LOCKED) {
		const char *p = hash;
		size_t n = len;

		while (n > 0 && *p == '!')
			p++, n--;
		if (p == hash) {
			/* FreeBSD "*LOCKED*hash", Solaris "*LK*hash"; a
			 * bare "*", "*NP*" has nothing behind it */
			if (n >= 8 && memcmp(p, "*LOCKED*", 8) == 0)
				p += 8, n -= 8;
			else if (n >= 4 && memcmp(p, "*LK*", 4) == 0)
				p += 4, n -= 4;
			else
				n = 0;
		}
		info_r->locked_scheme = n > 0 && (*p == '!' || *p == '*') ?
			MM_PW_UNKNOWN : scheme_of(p, n);
		return 0;
	}
	info_r->well_formed = len < MM_PW_HASH_MAX && shape_ok(s, hash, len);
	if (!info_r->well_formed)
		return 0;
	info_r->support = support_of(hash, len);
	info_r->legacy = info_r->support == MM_PW_LEGACY;
	info_r->can_verify = info_r->support == MM_PW_SUPPORTED ||
			     info_r->support == MM_PW_LEGACY ||
			     info_r->support == MM_PW_TOO_CHEAP;
	return 0;
}

/* Compare without an early exit, so the time taken does not say how
 * many leading bytes matched. Lengths are not secret (the stored hash's
 * length is public), so a length mismatch may return at once. */
static int ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char d = 0;
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Copy a password into a NUL-terminated buffer of MM_PW_PASSWORD_MAX. */
static int password_copy(const char *pw, size_t len, char *z,
			 struct mm_err *err_r)
{
	if (pw == NULL)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "password is NULL");
	if (memchr(pw, '\0', len) != NULL)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "password contains a NUL byte");
	if (len >= MM_PW_PASSWORD_MAX)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "password longer than %d bytes",
				  MM_PW_PASSWORD_MAX - 1);
	memcpy(z, pw, len);
	z[len] = '\0';
	return 0;
}

/* crypt() the NUL-terminated password with setting (a hash or a salt)
 * into out: the length of the result, or -1 with errno (ENOMEM; ERANGE
 * when out is too small; else crypt's own, 0 when it just refused). The
 * work area is wiped. */
static int crypt_into(const char *pwz, const char *setting, char *out,
		      size_t size)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *r;
	size_t len = 0;
	int e = 0;

	if (cd == NULL) {
		errno = ENOMEM;
		return -1;
	}
	errno = 0;
	r = crypt_rn(pwz, setting, cd, (int)sizeof(*cd));
	if (r == NULL)
		e = errno;
	else if ((len = strlen(r)) >= size)
		e = ERANGE;
	else
		memcpy(out, r, len + 1);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	errno = e;
	return r == NULL || e ? -1 : (int)len;
}

int mm_pw_verify(const char *password, size_t pwlen, const char *hash,
		 size_t hlen, struct mm_err *err_r)
{
	struct mm_pw_info info;
	char pwz[MM_PW_PASSWORD_MAX], hz[MM_PW_HASH_MAX], out[MM_PW_HASH_MAX];
	int n, e, ret;

	if (hash == NULL)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0, "hash is NULL");
	if (password_copy(password, pwlen, pwz, err_r) < 0)
		return -1;
	(void)mm_pw_classify(hash, hlen, &info, NULL);
	if (info.scheme == MM_PW_EMPTY || info.scheme == MM_PW_LOCKED) {
		explicit_bzero(pwz, sizeof(pwz));
		return 0;
	}
	if (hlen >= sizeof(hz) || memchr(hash, '\0', hlen) != NULL) {
		explicit_bzero(pwz, sizeof(pwz));
		return mm_err_set(err_r, MM_E_FORMAT, 0, 0, 0,
				  "malformed hash (%s)",
				  hlen >= sizeof(hz) ? "too long" : "NUL byte");
	}
	memcpy(hz, hash, hlen);
	hz[hlen] = '\0';
	n = crypt_into(pwz, hz, out, sizeof(out)); /* out fits any crypt() */
	e = errno;
	explicit_bzero(pwz, sizeof(pwz));
	if (n < 0 && e == ENOMEM)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
				  "out of memory");
	if (n < 0)
		return mm_err_set(err_r, MM_E_FORMAT, e, 0, 0,
				  "this machine's crypt() cannot use this %s "
				  "hash: %s", mm_pw_scheme_name(info.scheme),
				  e ? strerror(e) : "rejected");
	ret = ct_equal(out, (size_t)n, hz, hlen);
	explicit_bzero(out, sizeof(out));
	return ret;
}

int mm_pw_hash(const char *password, size_t pwlen, const char *prefix,
	       unsigned long count, char *hash_r, size_t size,
	       struct mm_err *err_r)
{
	char pwz[MM_PW_PASSWORD_MAX];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	int n, e;

	if (hash_r == NULL || size < MM_PW_HASH_MAX)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "mm_pw_hash: output buffer under %d bytes",
				  MM_PW_HASH_MAX);
	hash_r[0] = '\0';
	if (password_copy(password, pwlen, pwz, err_r) < 0)
		return -1;
	errno = 0;
	if (crypt_gensalt_rn(prefix, count, NULL, 0, setting,
			     (int)sizeof(setting)) == NULL) {
		e = errno;
		explicit_bzero(pwz, sizeof(pwz));
		return mm_err_set(err_r, e == EINVAL || e == ERANGE || e == 0 ?
				  MM_E_USAGE : e == ENOMEM ? MM_E_NOMEM :
				  MM_E_IO, e, 0, 0,
				  "cannot make a salt for method '%s' "
				  "(count %lu): %s", prefix ? prefix : "default",
				  count, e ? strerror(e) : "unsupported");
	}
	n = crypt_into(pwz, setting, hash_r, size);
	e = errno;
	explicit_bzero(pwz, sizeof(pwz));
	if (n >= 0)
		return n;
	if (e == ENOMEM)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
				  "out of memory");
	if (e == ERANGE)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "hash longer than the buffer");
	return mm_err_set(err_r, MM_E_USAGE, e, 0, 0,
			  "crypt() failed for method '%s': %s",
			  prefix ? prefix : "default",
			  e ? strerror(e) : "rejected");
}
