/* Syntax of Salesforce API names (sObjects and fields): a letter first, then letters,
 * digits and single underscores, not ending in '_' except in the __c/__r/__e style
 * suffixes, optionally namespaced (ns__Name__c). At most 80 characters. */
#ifndef SFA_UTIL_NAMES_H
#define SFA_UTIL_NAMES_H

#include <stdbool.h>

#define SFA_NAME_MAX 80

bool name_is_valid_api_name(const char *s);

#endif
