/**
 * @file sfagent/status.h
 * @brief The one status enum of the sfagent library.
 *
 * Every action returns an ::sfa_status. Codes are never renumbered; new codes are
 * appended. Details of the last failure live on the handle (sfa_agent_errmsg()) and as
 * the thread's last error (sfa_error_last(), sfagent/error.h).
 */
#ifndef SFAGENT_STATUS_H
#define SFAGENT_STATUS_H

typedef enum sfa_status {
    SFA_OK = 0,
    SFA_ERROR = -1,      /**< unclassified failure */
    SFA_EINVAL = -2,     /**< bad argument or bad input data (names, JSON, types, sizes) */
    SFA_ENOTFOUND = -3,  /**< no record / op / object matches */
    SFA_EAMBIGUOUS = -4, /**< a reference matches more than one record */
    SFA_EIO = -5,        /**< disk or database I/O error */
    SFA_EFULL = -6,      /**< disk full */
    SFA_EREADONLY = -7,  /**< database file or directory is read-only */
    SFA_ECORRUPT = -8,   /**< database file is not a valid sfagent database */
    SFA_ETOONEW = -9,    /**< database was written by a newer sfagent; refused, untouched */
    SFA_EBUSY = -10,     /**< database locked or sync lease held by another process */
    SFA_ENETWORK = -11,  /**< Salesforce could not be reached (nothing was sent) */
    SFA_EAUTH = -12,     /**< authentication failed (credentials, token) */
    SFA_ESERVER = -13,   /**< Salesforce answered with an error */
    SFA_ELIMIT = -14,    /**< API request limit reached or reserved share used */
    SFA_ECONFIG = -15,   /**< configuration missing or invalid */
    SFA_ESTATE = -16,    /**< operation not allowed in the object's current state */
    SFA_EPARTIAL = -17,  /**< finished, but some ops are dead or in conflict */
    SFA_ERETRY = -18,    /**< nothing lost; must retry later (backoff, unknown outcomes) */
    SFA_ETLS = -19,      /**< the server's TLS certificate could not be verified (nothing sent) */
} sfa_status;

/** Short English text for a status code; never NULL. */
const char *sfa_strerror(sfa_status status);

#endif
