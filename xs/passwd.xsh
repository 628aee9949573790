# XS glue for src/mm_passwd.c (password hashes via libxcrypt).
# Included at the end of MigrateMail.xs.

MODULE = MigrateMail	PACKAGE = MigrateMail::Passwd

PROTOTYPES: DISABLE
