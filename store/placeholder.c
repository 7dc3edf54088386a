/* Replaced by store/agent.c. */
#include "sfagent/agent.h"
int sfa_schema_version_supported(void) { return 1; }
