#ifndef KILN_CARCHIVE_SHIM_H
#define KILN_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

// libarchive's AE_IF* macros carry a cast Swift cannot import; re-export them as constants.
static const unsigned int KILN_AE_IFREG = 0100000;
static const unsigned int KILN_AE_IFDIR = 0040000;
static const unsigned int KILN_AE_IFLNK = 0120000;
#endif
