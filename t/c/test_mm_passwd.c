/* test_mm_passwd.c - table-driven tests for src/mm_passwd.c.
 *
 * Hashes are passed as exactly-sized malloc'd copies (no NUL after
 * them), so under ASan or valgrind a classifier that reads past the
 * length it was given is caught. Known-answer vectors come from the
 * SHA-crypt specification, MD5-crypt and NT references; the rest are
 * made here with crypt_gensalt() and checked by round trip.
 */
#include "mm_test.h"
#include "mm_passwd.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Can this machine's crypt() hash with this setting at all? For the
 * schemes whose support depends on how libxcrypt was built. */
static int crypt_takes(const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out = crypt_rn("probe", hash, cd, (int)sizeof(*cd));
	int ok = out != NULL && strlen(out) == strlen(hash);

	free(cd);
	return ok;
}

#define SHA512_VEC "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3" \
	"uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
#define SHA256_VEC "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
#define MD5_VEC "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"
#define NT_VEC "$3$$8846f7eaee8fb117ad06bdd830b7586c"
#define BF_SALTSUM "$05$abcdefghijklmnopqrstuuhKF09ZYWwH2zP/0fwE1X8e/Q1YNx/hO"

struct class_case {
	const char *in;
	size_t len;           /* 0: strlen(in) */
	enum mm_pw_scheme scheme;
	enum mm_pw_scheme locked;
	int well_formed;
	int can_verify;       /* -1: whatever crypt_rn() says here */
};

#define U MM_PW_UNKNOWN
static const struct class_case class_cases[] = {
	{ "", 0, MM_PW_EMPTY, U, 0, 0 },
	{ "!", 0, MM_PW_LOCKED, MM_PW_EMPTY, 0, 0 },
	{ "!!", 0, MM_PW_LOCKED, MM_PW_EMPTY, 0, 0 },
	{ "*", 0, MM_PW_LOCKED, MM_PW_EMPTY, 0, 0 },
	{ "*NP*", 0, MM_PW_LOCKED, MM_PW_EMPTY, 0, 0 },
	{ "!" SHA512_VEC, 0, MM_PW_LOCKED, MM_PW_SHA512, 0, 0 },
	{ "!!" MD5_VEC, 0, MM_PW_LOCKED, MM_PW_MD5, 0, 0 },
	{ "*LOCKED*$2b" BF_SALTSUM, 0, MM_PW_LOCKED, MM_PW_BCRYPT_2B, 0, 0 },
	{ "*LK*abgOeLfPimXQo", 0, MM_PW_LOCKED, MM_PW_DES, 0, 0 },
	{ "!*", 0, MM_PW_LOCKED, U, 0, 0 },
	{ "x", 0, U, U, 0, 0 },
	{ "abgOeLfPimXQo", 0, MM_PW_DES, U, 1, 1 },
	{ "abgOeLfPimXQ", 0, U, U, 0, 0 },
	{ "abgOeLfPimXQoo", 0, U, U, 0, 0 },
	{ "ab#OeLfPimXQo", 0, U, U, 0, 0 },
	{ "ab'OeLfPimXQo", 0, U, U, 0, 0 },
	{ "_J9..saltVCUiCprmAyg", 0, MM_PW_BSDI, U, 1, -1 },
	{ "_J9..salt", 0, MM_PW_BSDI, U, 0, 0 },
	{ "_J9..salt;CUiCprmAyg", 0, MM_PW_BSDI, U, 0, 0 },
	{ MD5_VEC, 0, MM_PW_MD5, U, 1, 1 },
	{ "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK", 0, MM_PW_MD5, U, 0, 0 },
	{ "$1$qjXMvbEw8oaL.CzflDtaK/", 0, MM_PW_MD5, U, 0, 0 },
	{ "$1$$qjXMvbEw8oaL.CzflDtaK/", 0, MM_PW_MD5, U, 1, 1 },
	{ "$1$salt:alt$qjXMvbEw8oaL.CzflDtaK/", 0, MM_PW_MD5, U, 0, 0 },
	{ "$2a" BF_SALTSUM, 0, MM_PW_BCRYPT_2A, U, 1, 1 },
	{ "$2b" BF_SALTSUM, 0, MM_PW_BCRYPT_2B, U, 1, 1 },
	{ "$2y" BF_SALTSUM, 0, MM_PW_BCRYPT_2Y, U, 1, 1 },
	{ "$2x" BF_SALTSUM, 0, MM_PW_BCRYPT_2X, U, 1, -1 },
	{ "$2" BF_SALTSUM, 0, MM_PW_BCRYPT_2, U, 1, -1 },
	{ "$2b$99$abcdefghijklmnopqrstuuhKF09ZYWwH2zP/0fwE1X8e/Q1YNx/hO",
	  0, MM_PW_BCRYPT_2B, U, 0, 0 },
	{ "$2b$03$abcdefghijklmnopqrstuuhKF09ZYWwH2zP/0fwE1X8e/Q1YNx/hO",
	  0, MM_PW_BCRYPT_2B, U, 0, 0 },
	{ "$2b$31$abcdefghijklmnopqrstuuhKF09ZYWwH2zP/0fwE1X8e/Q1YNx/hO",
	  0, MM_PW_BCRYPT_2B, U, 1, 1 },
	{ "$2b$05$abcdefghijklmnopqrstuuhKF09ZYWwH2zP/0fwE1X8e/Q1YNx/h",
	  0, MM_PW_BCRYPT_2B, U, 0, 0 },
	{ SHA256_VEC, 0, MM_PW_SHA256, U, 1, 1 },
	{ SHA512_VEC, 0, MM_PW_SHA512, U, 1, 1 },
	{ "$6$rounds=1000$abc$zaWpAwySRl8PX4W2aEMJwxpN82bCKtDZP0RBdOD6W7BQl"
	  "ilBqAsWnAZuS10iUyJZneS8Ob1gxs1BZkqJi1nTi.", 0, MM_PW_SHA512, U,
	  1, 1 },
	{ "$6$salt'$(touch x)$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBn"
	  "IFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", 0, MM_PW_SHA512, U,
	  0, 0 },
	{ "$6$", 0, U, U, 0, 0 },
	{ "$6$saltstring$", 0, MM_PW_SHA512, U, 0, 0 },
	{ "$y$j9T$s/KcZSsCbOQwYpdkOEqZh1$IqTUsdlqz503Ov6IIBunHpqjhRonDdTiBI"
	  "bJkX8dcTB", 0, MM_PW_YESCRYPT, U, 1, -1 },
	{ "$gy$j9T$7YO.tsZBmeMOKGf8SRu5I.$faUFBW.S2.VpWKomsbkIOEo6vzEKq9fth"
	  "uHWq00tHe2", 0, MM_PW_GOST_YESCRYPT, U, 1, -1 },
	{ "$7$CU..../....CJKRECCbFQBX5x9H5T8vW/$F/2C0GT0Cl2Vd6DeOaimJLHp41h"
	  "jTiMbRMuZQIcck.D", 0, MM_PW_SCRYPT, U, 1, -1 },
	{ "$md5,rounds=5000$abc$$8e/7oOoCBHksFHgK9Syeo1", 0, MM_PW_SUNMD5, U,
	  1, -1 },
	{ "$md5$abc$$bQlf3jaV7udHZrlJbWj5q.", 0, MM_PW_SUNMD5, U, 1, -1 },
	{ "$md5x$abc$$bQlf3jaV7udHZrlJbWj5q.", 0, U, U, 0, 0 },
	{ "$sha1$1000$abc$wibGYFHUvxDNcxbVr/Yszpk18ZfE", 0, MM_PW_SHA1, U,
	  1, -1 },
	{ NT_VEC, 0, MM_PW_NT, U, 1, -1 },
	{ "$3$$8846F7EAEE8FB117AD06BDD830B7586C", 0, MM_PW_NT, U, 0, 0 },
	{ "$3$$8846f7eaee8fb117ad06bdd830b7586", 0, MM_PW_NT, U, 0, 0 },
	{ "$8$abc$def", 0, U, U, 0, 0 },
	{ "{CRYPT}" SHA512_VEC, 0, U, U, 0, 0 },
	/* an embedded NUL: the bytes after it must not be trusted */
	{ "abgOeLfP\0mXQo", 13, U, U, 0, 0 },
	{ "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", 20, MM_PW_MD5, U, 0, 0 },
};
#undef U

static void test_classify(void)
{
	size_t i;

	for (i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]); i++) {
		const struct class_case *c = &class_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		char *b = dup_exact(c->in, len);
		struct mm_pw_info info;
		int cv = c->can_verify < 0 ? crypt_takes(c->in) : c->can_verify;

		check(mm_pw_classify(b, len, &info, NULL) == 0, "classify ok",
		      c->in);
		check(info.scheme == c->scheme, "scheme", c->in);
		check(info.locked_scheme == c->locked, "locked scheme", c->in);
		check(info.well_formed == c->well_formed, "well formed", c->in);
		check(info.can_verify == cv, "can verify", c->in);
		if (!info.well_formed)
			check(info.support == MM_PW_NOT_ASKED, "not asked",
			      c->in);
		free(b);
	}
	{
		struct mm_pw_info info;
		struct mm_err err;
		char big[500];

		check(mm_pw_classify(NULL, 0, &info, &err) == -1 &&
			      err.code == MM_E_USAGE, "NULL hash", NULL);
		memset(big, 'a', sizeof(big));
		memcpy(big, "$6$", 3);
		check(mm_pw_classify(big, sizeof(big), &info, NULL) == 0 &&
			      info.scheme == MM_PW_SHA512 && !info.well_formed,
		      "overlong hash", "$6$aaa...");
		mm_pw_classify("abgOeLfPimXQo", 13, &info, NULL);
		check(info.weak && info.legacy && info.note &&
			      strstr(info.note, "8 characters"),
		      "DES is weak, legacy, says why", "abgOeLfPimXQo");
		mm_pw_classify(SHA512_VEC, strlen(SHA512_VEC), &info, NULL);
		check(!info.weak && !info.legacy && info.note == NULL &&
			      info.support == MM_PW_SUPPORTED,
		      "sha512 is fine", SHA512_VEC);
	}
}

struct verify_case {
	const char *pw;
	size_t pwlen;         /* 0: strlen(pw) */
	const char *hash;
	int expect;           /* 1 match, 0 mismatch, -1 error */
	enum mm_code code;    /* for -1 */
};

static const struct verify_case verify_cases[] = {
	{ "Hello world!", 0, SHA512_VEC, 1, MM_OK },
	{ "Hello world", 0, SHA512_VEC, 0, MM_OK },
	{ "Hello world!!", 0, SHA512_VEC, 0, MM_OK },
	{ "Hello world!", 0, SHA256_VEC, 1, MM_OK },
	{ "password", 0, MD5_VEC, 1, MM_OK },
	{ "Password", 0, MD5_VEC, 0, MM_OK },
	{ "password", 0, NT_VEC, 1, MM_OK },
	{ "password1", 0, NT_VEC, 0, MM_OK },
	{ "test", 0, "abgOeLfPimXQo", 1, MM_OK },
	{ "tesT", 0, "abgOeLfPimXQo", 0, MM_OK },
	/* a truncated hash can never match */
	{ "Hello world!", 0, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKw", 0,
	  MM_OK },
	{ "", 0, "", 0, MM_OK },
	{ "anything", 0, "", 0, MM_OK },
	{ "", 0, "!", 0, MM_OK },
	{ "Hello world!", 0, "!" SHA512_VEC, 0, MM_OK },
	{ "Hello world!", 0, "*LOCKED*" SHA512_VEC, 0, MM_OK },
	{ "pass\0word", 9, SHA512_VEC, -1, MM_E_USAGE },
	{ "x", 0, "$2b$99$abcdefghijklmnopqrstuuhKF09ZYWwH2zP/0fwE1X8e/Q1YNx/hO",
	  -1, MM_E_FORMAT },
	{ "x", 0, "x", -1, MM_E_FORMAT },
	{ "x", 0, "$8$abc$def", -1, MM_E_FORMAT },
};

static void test_verify(void)
{
	size_t i;
	struct mm_err err;
	char *longpw;

	for (i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
		const struct verify_case *c = &verify_cases[i];
		size_t pl = c->pwlen ? c->pwlen : strlen(c->pw);
		size_t hl = strlen(c->hash);
		char *p = dup_exact(c->pw, pl), *h = dup_exact(c->hash, hl);
		int r;

		memset(&err, 0, sizeof(err));
		r = mm_pw_verify(p, pl, h, hl, &err);
		check(r == c->expect, "verify result", c->hash);
		if (c->expect < 0)
			check(err.code == c->code && err.text[0],
			      "verify error code", c->hash);
		free(p);
		free(h);
	}
	longpw = malloc(MM_PW_PASSWORD_MAX);
	memset(longpw, 'p', MM_PW_PASSWORD_MAX);
	check(mm_pw_verify(longpw, MM_PW_PASSWORD_MAX, SHA512_VEC,
			   strlen(SHA512_VEC), &err) == -1 &&
		      err.code == MM_E_USAGE, "overlong password refused", NULL);
	check(mm_pw_verify(longpw, MM_PW_PASSWORD_MAX - 1, SHA512_VEC,
			   strlen(SHA512_VEC), &err) == 0,
	      "longest password accepted", NULL);
	free(longpw);
	check(mm_pw_verify(NULL, 0, SHA512_VEC, strlen(SHA512_VEC), &err) ==
		      -1, "NULL password", NULL);
	check(mm_pw_verify("x", 1, NULL, 0, &err) == -1, "NULL hash", NULL);
}

struct hash_case {
	const char *prefix;   /* NULL: libxcrypt's preferred method */
	enum mm_pw_scheme scheme;
	int required;         /* must work on any libxcrypt (else skip) */
};

static const struct hash_case hash_cases[] = {
	{ "", MM_PW_DES, 0 },
	{ "_", MM_PW_BSDI, 0 },
	{ "$1$", MM_PW_MD5, 1 },
	{ "$2a$", MM_PW_BCRYPT_2A, 1 },
	{ "$2b$", MM_PW_BCRYPT_2B, 1 },
	{ "$2y$", MM_PW_BCRYPT_2Y, 1 },
	{ "$5$", MM_PW_SHA256, 1 },
	{ "$6$", MM_PW_SHA512, 1 },
	{ "$y$", MM_PW_YESCRYPT, 1 },
	{ "$gy$", MM_PW_GOST_YESCRYPT, 0 },
	{ "$7$", MM_PW_SCRYPT, 0 },
	{ "$md5", MM_PW_SUNMD5, 0 },
	{ "$sha1$", MM_PW_SHA1, 0 },
	{ "$3$", MM_PW_NT, 0 },
};

static void round_trip(const char *prefix, enum mm_pw_scheme scheme,
		       int required)
{
	const char *pw = "MigrateMe-2026";
	const char *label = prefix ? prefix : "(preferred)";
	char out[MM_PW_HASH_MAX];
	struct mm_pw_info info;
	struct mm_err err;
	int n = mm_pw_hash(pw, strlen(pw), prefix, 0, out, sizeof(out), &err);

	if (n < 0 && !required) {
		printf("# %s not built into this libxcrypt: %s\n", label,
		       err.text);
		return;
	}
	check(n > 0 && (size_t)n == strlen(out), "mm_pw_hash", label);
	if (n <= 0)
		return;
	mm_pw_classify(out, (size_t)n, &info, NULL);
	check(info.scheme == scheme, "new hash has the scheme", out);
	check(info.well_formed && info.can_verify, "new hash is verifiable",
	      out);
	check(mm_pw_verify(pw, strlen(pw), out, (size_t)n, &err) == 1,
	      "round trip verifies", out);
	check(mm_pw_verify("MigrateMe-2027", 14, out, (size_t)n, &err) ==
		      (scheme == MM_PW_DES ? 1 : 0),
	      "wrong password (DES: same first 8 characters)", out);
	check(mm_pw_verify("migrateme-2026", 14, out, (size_t)n, &err) == 0,
	      "case matters", out);
	check(strcmp(mm_pw_scheme_prefix(scheme), prefix ? prefix : "") == 0 ||
		      prefix == NULL, "scheme prefix", label);
}

static void test_hash(void)
{
	size_t i;
	char out[MM_PW_HASH_MAX];
	struct mm_err err;
	enum mm_pw_scheme pref;
	struct mm_pw_info info;
	int n;

	for (i = 0; i < sizeof(hash_cases) / sizeof(hash_cases[0]); i++)
		round_trip(hash_cases[i].prefix, hash_cases[i].scheme,
			   hash_cases[i].required);
	n = mm_pw_hash("x", 1, NULL, 0, out, sizeof(out), &err);
	mm_pw_classify(out, (size_t)n, &info, NULL);
	pref = info.scheme;
	check(n > 0 && strncmp(out, mm_pw_preferred_method(),
			       strlen(mm_pw_preferred_method())) == 0,
	      "default method is the preferred one", out);
	round_trip(NULL, pref, 1);
	check(mm_pw_hash("x", 1, "$9$", 0, out, sizeof(out), &err) == -1 &&
		      err.code == MM_E_USAGE && out[0] == '\0',
	      "unknown prefix refused", "$9$");
	check(mm_pw_hash("x", 1, "$2b$", 99, out, sizeof(out), &err) == -1 &&
		      err.code == MM_E_USAGE, "bad cost refused", "$2b$ 99");
	check(mm_pw_hash("x", 1, "$6$", 0, out, 100, &err) == -1 &&
		      err.code == MM_E_USAGE, "small buffer refused", NULL);
	check(mm_pw_hash("a\0b", 3, "$6$", 0, out, sizeof(out), &err) == -1 &&
		      err.code == MM_E_USAGE, "NUL in password refused", NULL);
	n = mm_pw_hash("x", 1, "$2b$", 4, out, sizeof(out), &err);
	check(n == 60 && strncmp(out, "$2b$04$", 7) == 0, "count is the cost",
	      out);
	/* two hashes of one password differ: the salt is random */
	{
		char a[MM_PW_HASH_MAX], b[MM_PW_HASH_MAX];

		mm_pw_hash("x", 1, "$6$", 0, a, sizeof(a), &err);
		mm_pw_hash("x", 1, "$6$", 0, b, sizeof(b), &err);
		check(strcmp(a, b) != 0, "random salt", a);
	}
}

static void test_names(void)
{
	unsigned i;

	for (i = 0; i < MM_PW_SCHEME_COUNT; i++) {
		enum mm_pw_scheme s = MM_PW_EMPTY;
		const char *name = mm_pw_scheme_name((enum mm_pw_scheme)i);

		check(mm_pw_scheme_parse(name, &s) == 0 && s == i,
		      "scheme name round trip", name);
	}
	{
		enum mm_pw_scheme s;

		check(mm_pw_scheme_parse("rot13", &s) == -1, "unknown name",
		      "rot13");
		check(strcmp(mm_pw_scheme_name((enum mm_pw_scheme)99),
			     "unknown") == 0, "out of range name", NULL);
		check(strcmp(mm_pw_support_name(MM_PW_LEGACY), "legacy") == 0,
		      "support name", "legacy");
		check(mm_pw_scheme_prefix(MM_PW_LOCKED) == NULL,
		      "no prefix for locked", NULL);
	}
}

int main(void)
{
	test_classify();
	test_verify();
	test_hash();
	test_names();
	return test_summary();
}
