/* sfa_strerror: text for every sfa_status. The switch has no default so that
 * -Wswitch flags a code added to the enum without a text. */
#include "sfagent/status.h"

const char *sfa_strerror(sfa_status status)
{
    switch (status) {
    case SFA_OK:
        return "ok";
    case SFA_ERROR:
        return "error";
    case SFA_EINVAL:
        return "invalid input";
    case SFA_ENOTFOUND:
        return "not found";
    case SFA_EAMBIGUOUS:
        return "ambiguous reference";
    case SFA_EIO:
        return "I/O error";
    case SFA_EFULL:
        return "disk full";
    case SFA_EREADONLY:
        return "database is read-only";
    case SFA_ECORRUPT:
        return "database is corrupt or not an sfagent database";
    case SFA_ETOONEW:
        return "database was written by a newer sfagent";
    case SFA_EBUSY:
        return "busy: locked by another process";
    case SFA_ENETWORK:
        return "Salesforce could not be reached";
    case SFA_EAUTH:
        return "authentication failed";
    case SFA_ESERVER:
        return "Salesforce returned an error";
    case SFA_ELIMIT:
        return "API request limit reached";
    case SFA_ECONFIG:
        return "configuration error";
    case SFA_ESTATE:
        return "not allowed in the current state";
    case SFA_EPARTIAL:
        return "some operations are dead or in conflict";
    case SFA_ERETRY:
        return "must retry later";
    case SFA_ETLS:
        return "the server's certificate could not be verified (possible man in the middle)";
    }
    return "unknown status";
}
