/* sfagent: placeholder entry point until the CLI lands. */
#include <stdio.h>
#include "sfagent.h"

int main(void)
{
    fprintf(stderr, "sfagent: no commands yet (schema v%d)\n", sfa_schema_version_supported());
    return 64;
}
