/* Standalone driver (libgit2 fuzzers/standalone_driver.c style) that replays every file
 * of one corpus directory through a libFuzzer target, so the corpora of fuzz/client,
 * fuzz/config and fuzz/push (and every crash turned into a regression file) run in each
 * ctest run without clang. fuzz.cmake builds it once per target with FUZZ_CORPUS_DIR (an
 * absolute path) and FUZZ_MIN_FILES (an empty or missing corpus must not pass). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strbuf.h"

#ifndef FUZZ_CORPUS_DIR
#error "FUZZ_CORPUS_DIR must name the corpus directory"
#endif
#ifndef FUZZ_MIN_FILES
#define FUZZ_MIN_FILES 15
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool read_all(const char *path, strbuf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char buf[4096];
    size_t n;
    strbuf_reset(out);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        strbuf_add(out, buf, n);
    bool ok = !ferror(f);
    fclose(f);
    return ok;
}

static void test_replay_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(FUZZ_CORPUS_DIR);
    assert_non_null(d);
    strbuf data = STRBUF_INIT;
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char *path = xasprintf("%s/%s", FUZZ_CORPUS_DIR, e->d_name);
        assert_true(read_all(path, &data));
        /* Exactly the input's bytes: the target must not rely on a NUL after them. */
        uint8_t *copy = xmalloc(data.len ? data.len : 1);
        memcpy(copy, strbuf_str(&data), data.len);
        LLVMFuzzerTestOneInput(copy, data.len);
        free(copy);
        files++;
        free(path);
    }
    closedir(d);
    strbuf_free(&data);
    print_message("replayed %d corpus files from %s\n", files, FUZZ_CORPUS_DIR);
    assert_true(files >= FUZZ_MIN_FILES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replay_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
