file(GLOB SFA_MIGRATION_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/migrations/*.sql)
set(out ${PROJECT_BINARY_DIR}/generated/migrations_embedded.c)
add_custom_command(
  OUTPUT ${out}
  COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DSQL_FILES=${SFA_MIGRATION_FILES}"
          -P ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
  DEPENDS ${SFA_MIGRATION_FILES} ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
  COMMENT "Embedding migrations"
  VERBATIM)
target_sources(sfagent PRIVATE ${out})
