/* Replays every file of fuzz/soql/corpus through the libFuzzer target, so the corpus (and
 * each crash turned into a regression file) runs in every ctest run without clang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool read_file(const char *path, strbuf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char buf[4096];
    size_t n;
    strbuf_reset(out);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        strbuf_add(out, buf, n);
    fclose(f);
    return true;
}

static void test_replay_corpus(void **state)
{
    (void)state;
    const char *src = getenv("SFA_SOURCE_DIR");
    assert_non_null(src);
    char *dir = xasprintf("%s/fuzz/soql/corpus", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    strbuf data = STRBUF_INIT;
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        assert_true(read_file(path, &data));
        LLVMFuzzerTestOneInput((const uint8_t *)strbuf_str(&data), data.len);
        files++;
        free(path);
    }
    closedir(d);
    strbuf_free(&data);
    free(dir);
    print_message("replayed %d corpus files\n", files);
    assert_true(files >= 20); /* an empty or missing corpus must not pass silently */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replay_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
