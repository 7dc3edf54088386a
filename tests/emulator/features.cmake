# Emulator feature modules (query, collections, composite, replication, bulk).
set(EMU_FEATURE_SOURCES emu_feat_common.c emu_query.c emu_collections.c emu_composite.c
    emu_replication.c emu_bulk.c emu_feat_csv.c)
