// Only the declaration in include/ matters; a C target needs one source file.
#include "kiln_fuzz_driver.h"
