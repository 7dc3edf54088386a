# Push engine, reconciliation, backoff, run lease, doctor (libsfagent).
target_sources(sfagent PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/backoff.c
  ${CMAKE_CURRENT_LIST_DIR}/push_classify.c
  ${CMAKE_CURRENT_LIST_DIR}/push_refs.c
  ${CMAKE_CURRENT_LIST_DIR}/push_build.c
  ${CMAKE_CURRENT_LIST_DIR}/reconcile.c
  ${CMAKE_CURRENT_LIST_DIR}/push.c
  ${CMAKE_CURRENT_LIST_DIR}/push_create.c
  ${CMAKE_CURRENT_LIST_DIR}/push_update.c
  ${CMAKE_CURRENT_LIST_DIR}/push_delete.c
  ${CMAKE_CURRENT_LIST_DIR}/doctor.c)
