#ifndef W2V_STORE_SUPPORT_H
#define W2V_STORE_SUPPORT_H

#include <stdint.h>

/// Asks the kernel to start writing bytes [offset, offset + length) of the open file `fd` to its
/// device, without waiting (Linux sync_file_range with SYNC_FILE_RANGE_WRITE), so that a later
/// fsync finds most of the file already on its way. Advisory: returns 0, or -1 with errno set
/// where the call is missing or the filesystem refuses it; nothing about the file changes.
int w2v_start_writeback(int fd, int64_t offset, int64_t length);

#endif
