#ifndef KILN_FUZZ_DRIVER_H
#define KILN_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt's fuzzer_no_main library). kiln-fuzz's main hands over to
// it: SwiftPM renames an executable's main, so libFuzzer's own main cannot be used.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
