/* Temporary: lets the emulator core link before the feature modules exist.
 * Deleted when emu_query.c, emu_collections.c, emu_composite.c, emu_replication.c and
 * emu_bulk.c land (features.cmake then lists them instead). */
#include "emu_internal.h"

static void not_yet(emu_resp *resp)
{
    emu_resp_error(resp, 501, "NOT_IMPLEMENTED", "not implemented in the emulator yet", NULL);
}

void emu_handle_query(emu_req *req, emu_resp *resp) { (void)req; not_yet(resp); }
void emu_handle_collections(emu_req *req, emu_resp *resp) { (void)req; not_yet(resp); }
void emu_handle_composite(emu_req *req, emu_resp *resp) { (void)req; not_yet(resp); }
void emu_handle_replication(emu_req *req, emu_resp *resp, const emu_object *obj, bool deleted)
{
    (void)req, (void)obj, (void)deleted;
    not_yet(resp);
}
void emu_handle_bulk(emu_req *req, emu_resp *resp) { (void)req; not_yet(resp); }
void emu_features_reset(emu *e) { (void)e; }
