# Emulator core (server, auth, rows, store, control). Feature modules: features.cmake.
set(EMU_CORE_SOURCES emu_server.c emu_resp.c emu_store.c emu_extidx.c emu_persist.c emu_validate.c
    emu_view.c emu_meta.c emu_oauth.c emu_identity.c emu_rows.c emu_control.c)
set(EMU_MAIN_SOURCE emu_main.c)
