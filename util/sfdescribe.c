/* Describe field lookup (util/sfdescribe.h). */
#include "util/sfdescribe.h"

#include <strings.h>

#include "util/json.h"

const cJSON *sf_describe_field(const cJSON *describe, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(describe, "fields"))
    {
        const char *n = json_str(f, "name");
        if (n && name && strcasecmp(n, name) == 0)
            return f;
    }
    return NULL;
}
