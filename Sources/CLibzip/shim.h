#ifndef W2VPIPE_CLIBZIP_SHIM_H
#define W2VPIPE_CLIBZIP_SHIM_H
#include <zip.h>
#endif
