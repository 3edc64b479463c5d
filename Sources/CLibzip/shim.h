#ifndef W2VPIPE_CLIBZIP_SHIM_H
#define W2VPIPE_CLIBZIP_SHIM_H
#include <zip.h>
/* zlib: libzip is built on it (Debian's libzip-dev depends on zlib1g-dev); read-text uses it
   directly for .gz files. */
#include <zlib.h>
#endif
