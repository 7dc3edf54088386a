/* libsfagent.so is the static library linked whole (cmake/Install.cmake): this file only
 * gives the shared target the one source file CMake requires of it. */
typedef int sfa_shared_library_has_no_code_of_its_own;
