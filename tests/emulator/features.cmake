set(EMU_FEATURE_SOURCES emu_features_stub.c)
