/* The embedded migrations (generated from migrations/NNNN_name.sql at build time). */
#ifndef SFA_STORE_MIGRATIONS_H
#define SFA_STORE_MIGRATIONS_H

typedef struct store_migration {
    int version;      /* NNNN; PRAGMA user_version after it applied */
    const char *name; /* file name, for messages */
    const char *sql;  /* NUL-terminated SQL text */
} store_migration;

extern const store_migration store_migrations[];
extern const int store_migration_count;

#endif
