# `sfagent sync`, `doctor`, `outbox retry|discard` (agent/cmd_sync.c).
target_sources(sfagent-cli PRIVATE ${CMAKE_CURRENT_LIST_DIR}/cmd_sync.c
               ${CMAKE_CURRENT_LIST_DIR}/cmd_login.c)
