int sfa_schema_version_supported(void); int sfa_schema_version_supported(void) { return 1; }
