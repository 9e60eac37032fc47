// I/O the binding serves itself, on the FUSE thread, from a handle's backing
// file descriptor: no JavaScript, no copy through user space where splice works.
#pragma once

#include <fuse_lowlevel.h>

#include "handle.h"

namespace tierfs {

void serveRead(fuse_req_t req, FileHandle* h, size_t size, off_t off, bool splice);
// Replies to a read with `size` bytes of fd at pos: libfuse splices file → pipe →
// /dev/fuse when it can, else reads into memory; a short read at end of file becomes a
// short reply.
void replyFromFd(fuse_req_t req, int fd, off_t pos, size_t size, bool splice);
// The payload is in memory, or in a pipe when the session receives requests by
// splice; fuse_buf_copy then splices it on into the file.
void serveWrite(fuse_req_t req, FileHandle* h, struct fuse_bufvec* in, off_t off);
void serveCopyFileRange(fuse_req_t req, FileHandle* in, off_t offIn, FileHandle* out, off_t offOut,
                        size_t len);

// Copies a write's payload (memory or a spliced pipe) into a malloc'd buffer for
// JavaScript. Returns the byte count, or -errno (then *data is null).
ssize_t copyPayload(struct fuse_bufvec* in, char** data);

}  // namespace tierfs
